"""On-the-fly augmentation of uint8 cutout batches, vectorised over the batch.

The sky has no preferred orientation, a candidate is never exactly at the centre, and the same
object reaches a user through different depths, seeing, colour scales and resize filters
(:mod:`deepshadows.simulate.randomize` varies these when simulating; this module varies them
again every epoch, cheaply, on the stored 8-bit cutouts). Per cutout of a batch:

1. one of the eight flips and rotations of the square;
2. a shift of up to ``max_shift`` pixels (edges repeated);
3. for a fraction ``blur_fraction``, a Gaussian blur (seeing, smoothing resize filters);
4. a gain per channel about the sky level (the viewer's colour scales) and a small offset per
   channel (residual sky);
5. for a fraction ``noise_fraction``, Gaussian noise (shallower imaging).

The flips, rotations and shifts move 8-bit pixels (NumPy views and one copy per cutout); the
rest are a handful of batched tensor operations on the channels-last float batch, so that
augmentation costs a small fraction of a training step. Noise is drawn from a bank of Gaussian
planes made once, each used under a random flip and sign. The random draws come from a
:class:`torch.Generator` that the caller seeds, so a resumed run augments exactly as a straight
one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deepshadows.errors import InputError

__all__ = ["AUGMENT_MODES", "AugmentConfig", "Augmenter", "augment_config"]

#: Values of ``--augment``: ``default`` (all of the above) or ``none``.
AUGMENT_MODES: tuple[str, ...] = ("default", "none")

_BLUR_TAPS = 7
_NOISE_BANK = 64  # Gaussian noise planes drawn once per augmenter and shape


@dataclass(frozen=True)
class AugmentConfig:
    """What the augmentation does and how strongly.

    Parameters
    ----------
    dihedral : bool
        Apply a random one of the eight flips and rotations.
    max_shift : int
        Largest shift along each axis, pixels.
    blur_fraction : float
        Fraction of cutouts blurred.
    blur_sigma : tuple of float
        Range of the blur's Gaussian sigma, pixels (uniform).
    gain : tuple of float
        Range of the per-channel gain about ``sky_level`` (log-uniform).
    offset_sigma : float
        Standard deviation of the per-channel offset, 8-bit levels.
    noise_fraction : float
        Fraction of cutouts given extra noise.
    noise_sigma : tuple of float
        Range of that noise's standard deviation, 8-bit levels (uniform).
    sky_level : float
        The 8-bit level of empty sky in the viewer's stretch (32), about which gains act.
    """

    dihedral: bool = True
    max_shift: int = 3
    blur_fraction: float = 0.3
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    gain: tuple[float, float] = (0.8, 1.25)
    offset_sigma: float = 1.5
    noise_fraction: float = 0.3
    noise_sigma: tuple[float, float] = (1.0, 5.0)
    sky_level: float = 32.0

    def to_dict(self) -> dict[str, object]:
        """Return the configuration as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


def augment_config(mode: str) -> AugmentConfig | None:
    """Return the augmentation of ``--augment MODE``, or None for ``none``.

    Parameters
    ----------
    mode : {"default", "none"}
        The mode.

    Returns
    -------
    AugmentConfig or None
        The default :class:`AugmentConfig` for ``default``; None for ``none``.

    Raises
    ------
    deepshadows.errors.InputError
        If the mode is unknown.
    """
    if mode not in AUGMENT_MODES:
        raise InputError(f"--augment: unknown mode {mode!r}; choose from {list(AUGMENT_MODES)}")
    return AugmentConfig() if mode == "default" else None


class Augmenter:
    """Augment batches of uint8 cutouts (B, H, W, C) into network input (B, C, H, W).

    Parameters
    ----------
    config : AugmentConfig
        What to do.
    seed : int
        Seed of the random draws (re-seed with :meth:`reseed`, e.g. once per epoch).
    """

    def __init__(self, config: AugmentConfig, seed: int = 0) -> None:
        self.config = config
        self.generator = torch.Generator().manual_seed(int(seed) % 2**63)
        half = _BLUR_TAPS // 2
        self._taps = torch.arange(-half, half + 1, dtype=torch.float32)
        self._noise: torch.Tensor | None = None

    def reseed(self, seed: int) -> None:
        """Restart the random draws from ``seed``.

        Parameters
        ----------
        seed : int
            The new seed.
        """
        self.generator.manual_seed(int(seed) % 2**63)

    def _uniform(self, shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator) * (high - low) + low

    def __call__(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Return an augmented copy of a batch, as network input.

        Parameters
        ----------
        images : torch.Tensor or ndarray of shape (B, H, W, C), uint8
            Square cutouts as stored.

        Returns
        -------
        torch.Tensor of shape (B, C, H, W), float32 in [0, 1], channels-last memory
            What :func:`deepshadows.models.preprocess.as_network_input` makes of a uint8 batch,
            for the augmented cutouts.
        """
        x = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        if x.ndim != 4 or x.dtype != np.uint8 or x.shape[1] != x.shape[2]:
            raise ValueError(f"expected square uint8 cutouts of shape (B, H, W, C), got {x.shape} {x.dtype}")
        cfg = self.config
        b, size, _, chans = x.shape
        if cfg.dihedral or cfg.max_shift > 0:
            x = self._move(x)
        y = torch.from_numpy(x).permute(0, 3, 1, 2).float()  # channels-last view of the pixels
        if cfg.blur_fraction > 0:
            chosen = torch.nonzero(torch.rand(b, generator=self.generator) < cfg.blur_fraction).flatten()
            if chosen.numel():
                y[chosen] = self._blur(y[chosen].contiguous())
        low, high = np.log(cfg.gain)
        gain = torch.exp(self._uniform((b, chans, 1, 1), float(low), float(high)))
        offset = torch.randn((b, chans, 1, 1), generator=self.generator) * cfg.offset_sigma
        # ((y - sky) * gain + sky + offset) / 255 as one fused pass.
        y = torch.addcmul((cfg.sky_level * (1.0 - gain) + offset) / 255.0, y, gain / 255.0)
        if cfg.noise_fraction > 0:
            chosen = torch.nonzero(torch.rand(b, generator=self.generator) < cfg.noise_fraction).flatten()
            if chosen.numel():
                y[chosen] += self._noise_planes(chosen.numel(), y.shape[1:])
        return y.clamp_(0.0, 1.0)

    def _move(self, x: np.ndarray) -> np.ndarray:
        """Shift, flip and rotate every cutout of a uint8 batch (edges repeated)."""
        cfg = self.config
        b, size = x.shape[:2]
        s = cfg.max_shift
        if s > 0:
            shift = torch.randint(0, 2 * s + 1, (b, 2), generator=self.generator).numpy()
            padded = np.pad(x, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
            x = np.empty_like(x)
            for i, (dy, dx) in enumerate(shift.tolist()):
                x[i] = padded[i, dy : dy + size, dx : dx + size]
        if not cfg.dihedral:
            return x
        # The eight symmetries, each applied to its group of cutouts at once.
        symmetry = torch.randint(0, 8, (b,), generator=self.generator)
        pixels = torch.from_numpy(x)
        out = torch.empty_like(pixels)
        for k in range(8):
            rows = torch.nonzero(symmetry == k).flatten()
            if rows.numel() == 0:
                continue
            group = pixels[rows]
            if k & 4:
                group = group.transpose(1, 2)
            if k & 2:
                group = group.flip(1)
            if k & 1:
                group = group.flip(2)
            out[rows] = group
        return out.numpy()

    def _noise_planes(self, n: int, shape: torch.Size) -> torch.Tensor:
        """Return ``n`` noise fields of the batch's (C, H, W) shape, scaled to 8-bit levels / 255."""
        cfg = self.config
        if self._noise is None or self._noise.shape[1:] != shape:
            bank = torch.Generator().manual_seed(_NOISE_BANK)  # the same planes in every run
            self._noise = torch.randn((_NOISE_BANK, *shape), generator=bank)
        pick = torch.randint(0, _NOISE_BANK, (n,), generator=self.generator)
        planes = self._noise[pick]
        flip = torch.rand(n, generator=self.generator) < 0.5
        planes = torch.where(flip.view(n, 1, 1, 1), planes.flip(3), planes)
        sign = torch.randint(0, 2, (n, 1, 1, 1), generator=self.generator) * 2 - 1
        sigma = self._uniform((n, 1, 1, 1), *cfg.noise_sigma) / 255.0
        return planes * (sign * sigma)

    def _blur(self, y: torch.Tensor) -> torch.Tensor:
        """Blur cutouts (n, C, H, W) with a separable Gaussian of random width each."""
        cfg = self.config
        n, _, size, _ = y.shape
        sigma = self._uniform((n, 1), *cfg.blur_sigma)
        kernel = torch.exp(-0.5 * (self._taps.view(1, -1) / sigma) ** 2)
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, taps)
        half = _BLUR_TAPS // 2
        # A sum of shifted copies: faster on CPUs than a grouped convolution of few channels.
        padded = F.pad(y, (half, half, half, half), mode="replicate")
        rows = torch.zeros((n, y.shape[1], size + 2 * half, size), dtype=y.dtype)
        for k in range(_BLUR_TAPS):
            rows.addcmul_(padded[..., k : k + size], kernel[:, k].view(n, 1, 1, 1))
        out = torch.zeros_like(y)
        for k in range(_BLUR_TAPS):
            out.addcmul_(rows[:, :, k : k + size, :], kernel[:, k].view(n, 1, 1, 1))
        return out
