"""AdamW for the modern architectures, and the learning rate of every step of a run.

The Table-1 CNN trains as the paper does (Adadelta, constant learning rate). Networks such as
:class:`deepshadows.models.CompactResNet` train with AdamW, decoupled weight decay spared on
biases and normalisation parameters, and a cosine schedule after a linear warm-up. The
learning rate of a step is a function of the step's index alone, set on the optimizer right
before the step, so a resumed run follows the same schedule without any scheduler state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TypeVar

import torch
from torch import nn

__all__ = ["lr_factor", "make_adamw", "scheduled"]

_T = TypeVar("_T")


def make_adamw(model: nn.Module, *, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """Return AdamW over a model's parameters, without weight decay on biases and norms.

    Parameters
    ----------
    model : torch.nn.Module
        The model; ``model.no_weight_decay()``, when defined, names the parameters to spare,
        else every parameter of one dimension or none (biases, normalisation scales) is spared.
    lr : float
        Learning rate.
    weight_decay : float
        Decoupled weight decay of the other parameters.

    Returns
    -------
    torch.optim.AdamW
        Two parameter groups: decayed, then spared.
    """
    spare = getattr(model, "no_weight_decay", None)
    named = list(model.named_parameters())
    spared = set(spare()) if callable(spare) else {name for name, p in named if p.ndim <= 1}
    decay = [p for name, p in named if name not in spared]
    rest = [p for name, p in named if name in spared]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def lr_factor(step: int, total: int, *, schedule: str, warmup: int = 0) -> float:
    """Return the factor of the peak learning rate at a step.

    Parameters
    ----------
    step : int
        Index of the step in the run, from 0.
    total : int
        Steps in the whole run.
    schedule : {"constant", "cosine"}
        Constant (always 1), or a linear rise over the first ``warmup`` steps followed by a
        cosine decay that reaches 0 after ``total`` steps.
    warmup : int, optional
        Warm-up steps of the cosine schedule.

    Returns
    -------
    float
        The factor, in (0, 1] during warm-up and [0, 1] after.

    Raises
    ------
    ValueError
        For an unknown schedule.
    """
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule {schedule!r}")
    if step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def scheduled(
    batches: Iterable[_T],
    optimizer: torch.optim.Optimizer,
    *,
    peak_lr: float,
    first_step: int,
    total: int,
    schedule: str,
    warmup: int = 0,
) -> Iterator[_T]:
    """Yield the batches, setting the learning rate of the step each one is for.

    The training loop takes its step after receiving a batch, so the rate set before yielding
    batch ``k`` is the rate of step ``first_step + k``.

    Parameters
    ----------
    batches : iterable
        Training batches, consumed in the calling thread.
    optimizer : torch.optim.Optimizer
        Optimizer whose groups get ``lr = peak_lr * lr_factor(step, ...)``.
    peak_lr : float
        The peak learning rate.
    first_step : int
        Index of the first batch's step in the run.
    total, schedule, warmup
        As for :func:`lr_factor`.

    Yields
    ------
    object
        The batches, unchanged.
    """
    for k, batch in enumerate(batches):
        lr = peak_lr * lr_factor(first_step + k, total, schedule=schedule, warmup=warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        yield batch
