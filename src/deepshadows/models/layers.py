"""What the models share: a faster dropout for the CPU and the classifier's forward contract."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepshadows._io import check_at_least_one

__all__ = ["FastDropout"]


# Uniform random integers are drawn 64 bits at a time and split into four 16-bit values.
_BITS = 16
_LEVELS = 1 << _BITS
_INT16_MIN = -(1 << (_BITS - 1))


class FastDropout(nn.Module):
    """Inverted dropout with 16-bit random numbers: Keras's ``Dropout`` semantics, faster on CPUs.

    In training mode each element is zeroed with probability ``p`` and the others are scaled
    by ``1 / (1 - p)``; in evaluation mode the input passes unchanged, as with
    :class:`torch.nn.Dropout`. The difference is where the randomness comes from.
    ``torch.nn.Dropout`` draws one Bernoulli variate per element with PyTorch's scalar CPU
    generator, which on a 2-core CPU cost 7-20 ms of a 65-100 ms training step of the Table-1
    model. Here one 64-bit integer from :func:`torch.randint` (the same generator, so
    :func:`torch.manual_seed` and saved RNG states govern it) gives four 16-bit uniform
    values, and an element is kept when its value is at or above the ``p`` quantile. The drop
    probability is therefore ``p`` rounded to a multiple of 2**-16 (0.399994 for 0.4).

    The mask follows the memory layout of the input (channels-last or contiguous), so no copy
    is made; the same seed gives the same mask for the same layout.

    Parameters
    ----------
    p : float, optional
        Probability of zeroing an element, in [0, 1).

    Raises
    ------
    ValueError
        If ``p`` lies outside [0, 1).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p = float(p)
        self._threshold = _INT16_MIN + round(self.p * _LEVELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply dropout in training mode; return ``x`` unchanged in evaluation mode."""
        if not self.training or self.p == 0.0:
            return x
        n = x.numel()
        words = torch.randint(-(2**63), 2**63 - 1, (-(-n // 4),), dtype=torch.int64, device=x.device)
        uniform = words.view(torch.int16)[:n]
        if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
            batch, chans, height, width = x.shape
            uniform = uniform.view(batch, height, width, chans).permute(0, 3, 1, 2)
        else:
            uniform = uniform.view(x.shape)
        scale = (uniform >= self._threshold).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * scale

    def extra_repr(self) -> str:
        """Return the drop probability for ``repr``."""
        return f"p={self.p}"


class _FeatureClassifier(nn.Module):
    """A classifier split into ``forward_features`` and ``forward_head``, described by ``model_kwargs``.

    Subclasses pass their checked constructor arguments to ``__init__``, set ``blocks`` (the
    feature extractor) and define ``forward_head``.
    """

    model_kwargs: dict[str, Any]
    blocks: nn.Module

    def __init__(self, in_chans: int, num_classes: int, image_size: int, **settings: Any) -> None:
        """Record the input channels, the classes and the image size, and ``model_kwargs``.

        ``model_kwargs`` holds the three sizes, then ``settings``: the architecture's other
        constructor arguments, already checked and converted to plain types.
        """
        super().__init__()
        self.in_chans = int(in_chans)
        self.num_classes = int(num_classes)
        self.image_size = int(image_size)
        self.model_kwargs = {
            "in_chans": self.in_chans,
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            **settings,
        }

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the feature maps of the last block (the output of ``self.blocks``).

        Parameters
        ----------
        x : torch.Tensor of shape (N, in_chans, image_size, image_size)
            Images scaled to [0, 1], channels first.

        Returns
        -------
        torch.Tensor of shape (N, C, H, W)
            For :class:`~deepshadows.models.DeepShadowsCNN` (N, 64, image_size / 8,
            image_size / 8), after the last dropout; for
            :class:`~deepshadows.models.CompactResNet` with four stages (N, widths[-1],
            image_size / 16, image_size / 16).
        """
        return self.blocks(x)

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits: shape (N,) for the binary model, (N, num_classes) otherwise."""
        return self.forward_head(self.forward_features(x))

    def extra_repr(self) -> str:
        """Return the constructor arguments for ``repr``."""
        return ", ".join(f"{key}={value}" for key, value in self.model_kwargs.items())


def _check_counts(in_chans: int, num_classes: int) -> None:
    """Raise :class:`~deepshadows.errors.InputError` unless both counts are at least 1."""
    check_at_least_one(in_chans, "in_chans")
    check_at_least_one(num_classes, "num_classes")
