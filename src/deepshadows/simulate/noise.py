"""Sky noise of coadded survey images: Gaussian, slightly correlated between neighbouring pixels.

Coadds are resampled from single exposures, which correlates the noise of neighbouring pixels. The
survey's ``noise_sigma`` is the white-noise equivalent of its aperture depth; smoothing white
noise with a kernel that sums to one keeps that aperture noise and lowers the per-pixel scatter to
``noise_sigma * sqrt(sum(kernel**2))``.
"""

from __future__ import annotations

import numpy as np

from deepshadows.surveys import correlation_kernel, pixel_sigma_factor

__all__ = ["add_noise", "correlation_kernel", "pixel_sigma_factor"]


def add_noise(
    bands: np.ndarray, sigma: np.ndarray, rng: np.random.Generator, *, correlation_px: float = 0.0
) -> np.ndarray:
    """Add Gaussian sky noise to ``bands`` in place.

    Parameters
    ----------
    bands : ndarray of shape (n_bands, H, W), float32
        Noise-free images.
    sigma : ndarray of shape (n_bands,)
        White-noise-equivalent standard deviation per band (nanomaggies per pixel).
    rng : numpy.random.Generator
        Source of the noise.
    correlation_px : float, optional
        Width in pixels of the Gaussian that correlates neighbouring pixels (0: white noise).

    Returns
    -------
    ndarray
        ``bands``, with noise added.
    """
    noise = rng.standard_normal(bands.shape, dtype=np.float32)
    if correlation_px > 0:
        side, centre, _ = correlation_kernel(correlation_px).astype(np.float32)
        for axis in (1, 2):
            noise = _smooth_3tap(noise, axis, side, centre)
    noise *= np.asarray(sigma, dtype=np.float32)[:, None, None]
    bands += noise
    return bands


def _smooth_3tap(noise: np.ndarray, axis: int, side: np.float32, centre: np.float32) -> np.ndarray:
    """Return ``centre * noise + side * (left + right)`` with periodic neighbours along ``axis``.

    Element for element the same float32 operations as with ``np.roll``, without its copies.

    Parameters
    ----------
    noise : ndarray, float32
        Array to smooth; overwritten.
    axis : int
        Axis along which the neighbours are taken (periodic, as ``np.roll``).
    side, centre : numpy.float32
        Kernel taps.

    Returns
    -------
    ndarray
        The smoothed array.
    """
    src = np.moveaxis(noise, axis, -1)
    pairs = np.empty_like(src)
    np.add(src[..., :-2], src[..., 2:], out=pairs[..., 1:-1])
    np.add(src[..., -1], src[..., 1], out=pairs[..., 0])
    np.add(src[..., -2], src[..., 0], out=pairs[..., -1])
    pairs *= side
    src *= centre
    src += pairs
    return noise
