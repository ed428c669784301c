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

Everything is a handful of batched tensor operations; the random draws come from a
:class:`torch.Generator` that the caller seeds, so a resumed run augments exactly as a straight
one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from deepshadows.errors import InputError

__all__ = ["AUGMENT_MODES", "AugmentConfig", "Augmenter", "augment_config"]

#: Values of ``--augment``: ``default`` (all of the above) or ``none``.
AUGMENT_MODES: tuple[str, ...] = ("default", "none")

_BLUR_TAPS = 7


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

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
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
        x = torch.as_tensor(images)
        if x.ndim != 4 or x.dtype != torch.uint8 or x.shape[1] != x.shape[2]:
            raise ValueError(
                f"expected square uint8 cutouts of shape (B, H, W, C), got {tuple(x.shape)} {x.dtype}"
            )
        cfg = self.config
        b, size, _, chans = x.shape
        pixels = size * size
        y = x.permute(0, 3, 1, 2).float().contiguous().view(b, chans, pixels)
        if cfg.dihedral or cfg.max_shift > 0:
            # Flips, rotation and shift as one gather per image plane.
            y = y.gather(2, self._source_pixels(b, size).unsqueeze(1).expand(b, chans, pixels))
        if cfg.blur_fraction > 0:
            chosen = torch.nonzero(torch.rand(b, generator=self.generator) < cfg.blur_fraction).flatten()
            if chosen.numel():
                y[chosen] = self._blur(y[chosen], size)
        log_gain = torch.log(torch.tensor(cfg.gain, dtype=torch.float32))
        gain = torch.exp(self._uniform((b, chans, 1), float(log_gain[0]), float(log_gain[1])))
        offset = torch.randn((b, chans, 1), generator=self.generator) * cfg.offset_sigma
        # (y - sky) * gain + sky + offset, in one fused pass.
        y = torch.addcmul(cfg.sky_level * (1.0 - gain) + offset, y, gain)
        if cfg.noise_fraction > 0:
            chosen = torch.nonzero(torch.rand(b, generator=self.generator) < cfg.noise_fraction).flatten()
            if chosen.numel():
                sigma = self._uniform((chosen.numel(), 1, 1), *cfg.noise_sigma)
                noise = torch.randn((chosen.numel(), chans, pixels), generator=self.generator)
                y[chosen] += noise * sigma
        y = y.mul_(1.0 / 255.0).clamp_(0.0, 1.0).view(b, chans, size, size)
        return y.contiguous(memory_format=torch.channels_last)

    def _source_pixels(self, b: int, size: int) -> torch.Tensor:
        """Flat index of the source pixel of every output pixel: (B, size * size), int64."""
        cfg = self.config
        axis = torch.arange(size)
        rows = axis.view(1, size, 1).expand(b, size, size)
        cols = axis.view(1, 1, size).expand(b, size, size)
        if cfg.dihedral:
            flips = torch.randint(0, 2, (3, b, 1, 1), generator=self.generator, dtype=torch.bool)
            rows, cols = torch.where(flips[2], cols, rows), torch.where(flips[2], rows, cols)
            rows = torch.where(flips[1], size - 1 - rows, rows)
            cols = torch.where(flips[0], size - 1 - cols, cols)
        if cfg.max_shift > 0:
            shift = torch.randint(-cfg.max_shift, cfg.max_shift + 1, (2, b, 1, 1), generator=self.generator)
            rows = (rows - shift[0]).clamp(0, size - 1)
            cols = (cols - shift[1]).clamp(0, size - 1)
        return (rows * size + cols).reshape(b, size * size)

    def _blur(self, y: torch.Tensor, size: int) -> torch.Tensor:
        """Blur image planes (n, C, size * size) with a separable Gaussian of random width each."""
        cfg = self.config
        n, chans, _ = y.shape
        sigma = self._uniform((n, 1), *cfg.blur_sigma)
        kernel = torch.exp(-0.5 * (self._taps.view(1, -1) / sigma) ** 2)
        kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(chans, dim=0)
        half = _BLUR_TAPS // 2
        planes = F.pad(y.view(1, n * chans, size, size), (half, half, half, half), mode="replicate")
        planes = F.conv2d(planes, kernel.view(n * chans, 1, 1, _BLUR_TAPS), groups=n * chans)
        planes = F.conv2d(planes, kernel.view(n * chans, 1, _BLUR_TAPS, 1), groups=n * chans)
        return planes.reshape(n, chans, size * size)
