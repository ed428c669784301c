"""How the members' outputs make the ensemble's: mean probability, its logit, the disagreement.

Each member's logits become probabilities (sigmoid, or softmax for several classes) in float32;
the ensemble's probability is their mean and its uncertainty their standard deviation across
the members (population, ``ddof=0``). For several classes the uncertainty is the standard
deviation of the members' probabilities of the class the mean ranks first.

The ensemble also returns a *logit*: ``log(mean p) - log(mean (1 - p))`` for a binary model,
``log(mean p_k)`` per class otherwise. Its sigmoid (softmax) is the mean probability, so every
consumer of logits (calibration, predict, evaluate, ONNX Runtime) treats an ensemble like one
network. It is computed with log-sum-exp from the members' logits, finite even where the mean
probability rounds to 0 or 1 in float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["combine_member_logits", "member_outputs"]


def member_outputs(member_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Combine the logits of the members, stacked on axis 1 (torch, differentiable, exportable).

    Parameters
    ----------
    member_logits : torch.Tensor of shape (N, M) or (N, M, K)
        Logits of ``M`` members for ``N`` cutouts: binary, or ``K`` classes.

    Returns
    -------
    logits : torch.Tensor of shape (N,) or (N, K), float32
        The ensemble's logits (their sigmoid or softmax is the mean probability).
    probability : torch.Tensor of shape (N,) or (N, K), float32
        The members' mean probability.
    uncertainty : torch.Tensor of shape (N,), float32
        Standard deviation of the members' probabilities (of the top class for ``K`` classes).
    """
    z = member_logits.float()
    n_members = z.shape[1]
    if z.ndim == 2:
        members = torch.sigmoid(z)
        logits = torch.logsumexp(torch.nn.functional.logsigmoid(z), 1) - torch.logsumexp(
            torch.nn.functional.logsigmoid(-z), 1
        )
        probability = members.mean(1)
        spread = members.std(1, correction=0)
        return logits, probability, spread
    members = torch.softmax(z, dim=-1)
    logits = torch.logsumexp(torch.log_softmax(z, dim=-1), 1) - math.log(n_members)
    probability = members.mean(1)
    top = probability.argmax(-1, keepdim=True)
    chosen = torch.gather(members, 2, top[:, None, :].expand(-1, n_members, 1))[..., 0]
    return logits, probability, chosen.std(1, correction=0)


def combine_member_logits(member_logits: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine the logits of the members, stacked on axis 1 (numpy in, numpy out).

    Parameters
    ----------
    member_logits : array-like of shape (N, M) or (N, M, K)
        Logits of ``M`` members for ``N`` cutouts.

    Returns
    -------
    logits, probability, uncertainty : ndarray, float32
        As :func:`member_outputs`.

    Raises
    ------
    ValueError
        If ``member_logits`` is not two- or three-dimensional.
    """
    z = torch.as_tensor(np.asarray(member_logits, dtype=np.float32))
    if z.ndim not in (2, 3):
        raise ValueError(f"member logits must have shape (N, M) or (N, M, K), got {tuple(z.shape)}")
    with torch.no_grad():
        logits, probability, uncertainty = member_outputs(z)
    return logits.numpy(), probability.numpy(), uncertainty.numpy()
