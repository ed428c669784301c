"""The distance between the feature distributions of a source and a target batch.

Domain adaptation in the manner of DeepMerge II (Ćiprijanović et al. 2021) and SIDDA: besides
the classification loss on labelled simulated cutouts, every step penalises the distance between
the network's 1024-d features of the simulated batch and of a batch of unlabelled cutouts of the
target sky, so that the classifier works on features the two domains share. The distance comes
from geomloss's ``SamplesLoss``: the debiased Sinkhorn divergence (entropic optimal transport)
or a maximum mean discrepancy with the energy or a Gaussian kernel.

The features are divided by their mean norm over both batches (a detached number) before the
distance is taken, so that the loss neither grows with the feature scale nor is minimised by
shrinking every feature towards zero.
"""

from __future__ import annotations

import torch

from deepshadows.errors import InputError

__all__ = ["ALIGNMENT_LOSSES", "FeatureAlignment"]

#: Losses of ``--adapt-loss``.
ALIGNMENT_LOSSES: tuple[str, ...] = ("sinkhorn", "energy", "gaussian")


class FeatureAlignment:
    """A differentiable distance between two batches of feature vectors.

    Parameters
    ----------
    loss : {"sinkhorn", "energy", "gaussian"}
        The geomloss ``SamplesLoss`` used.
    blur : float, optional
        Its length scale, in units of the mean feature norm: the entropic blur of Sinkhorn
        (default 0.1) or the width of the Gaussian kernel (default 0.5); the energy distance
        has none.
    """

    def __init__(self, loss: str = "sinkhorn", *, blur: float | None = None) -> None:
        if loss not in ALIGNMENT_LOSSES:
            raise InputError(f"--adapt-loss: must be one of {', '.join(ALIGNMENT_LOSSES)}, got {loss!r}")
        from geomloss import SamplesLoss

        self.name = loss
        if blur is None:
            blur = 0.5 if loss == "gaussian" else 0.1
        kwargs = {"blur": blur, "backend": "tensorized"}
        if loss == "sinkhorn":
            # The features are scaled to a mean norm of one, so their spread is a few units at
            # most. Giving the diameter keeps geomloss from deriving it from the batch, which
            # fails (log of zero) when every feature vector of a batch is the same.
            kwargs |= {"p": 2, "scaling": 0.7, "debias": True, "diameter": 4.0}
        self._loss = SamplesLoss(loss, **kwargs)

    def __call__(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the distance between two batches of features.

        Parameters
        ----------
        source, target : torch.Tensor of shape (N, D) and (M, D)
            Features of the two batches.

        Returns
        -------
        torch.Tensor
            A scalar, differentiable with respect to both batches.
        """
        source, target = source.float(), target.float()
        scale = torch.cat([source, target]).detach().norm(dim=1).mean().clamp_min(1e-6)
        return self._loss(source / scale, target / scale)
