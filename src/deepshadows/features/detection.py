"""Detection of the sources of a cutout with ``sep``: input checks, background and detection image.

The band images are validated, their non-finite pixels masked and, optionally, a ``sep``
background (64 px mesh) subtracted. Sources are detected on the inverse-variance-weighted mean
of the r, i, z images with its noise sigma (``sep.extract``, threshold 1.5 sigma, minimum area
5 px, Gaussian filter of FWHM 3 px, 32 deblending levels, contrast 0.005). Images are in
nanomaggies per native pixel, band order g, r, i, z.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sep

from deepshadows.errors import InputError

__all__: list[str] = []

#: Number of bands expected in the input (g, r, i, z).
_N_BANDS = 4
#: Indices of the bands summed into the detection image (r, i, z).
_DETECTION_BANDS = (1, 2, 3)

_DETECT_THRESH = 1.5
_DETECT_MINAREA = 5
_DEBLEND_NTHRESH = 32
_DEBLEND_CONT = 0.005
_BACKGROUND_MESH = 64


def _gaussian_kernel(fwhm: float, half_size: int) -> np.ndarray:
    """Return a normalised, C-contiguous Gaussian filter kernel.

    Parameters
    ----------
    fwhm : float
        Full width at half maximum, pixels.
    half_size : int
        The kernel is ``2 * half_size + 1`` pixels on a side.

    Returns
    -------
    numpy.ndarray
        Kernel summing to one, float64.
    """
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    grid = np.arange(-half_size, half_size + 1, dtype=np.float64)
    profile = np.exp(-0.5 * (grid / sigma) ** 2)
    kernel = np.outer(profile, profile)
    return np.ascontiguousarray(kernel / kernel.sum())


#: Detection filter: Gaussian of FWHM 3 px on a 7x7 grid (SourceExtractor's gauss_3.0_7x7).
_FILTER_KERNEL = _gaussian_kernel(3.0, 3)


def _check_inputs(bands: np.ndarray, pixel_scale: float, noise_sigma: Sequence[float]) -> np.ndarray:
    """Validate the arguments that do not depend on pixel values; return sigma as an array."""
    if bands.ndim != 3 or bands.shape[0] != _N_BANDS:
        raise InputError(
            f"bands must have shape ({_N_BANDS}, H, W) in the order g, r, i, z; got {bands.shape}"
        )
    if min(bands.shape[1:]) < 2:
        raise InputError(f"band images must be at least 2x2 pixels; got {bands.shape[1:]}")
    if not (np.isfinite(pixel_scale) and pixel_scale > 0):
        raise InputError(f"pixel_scale must be a positive number of arcsec; got {pixel_scale}")
    sigma = np.asarray(noise_sigma, dtype=np.float64).reshape(-1)
    if sigma.shape != (_N_BANDS,) or not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
        raise InputError(
            f"noise_sigma must hold {_N_BANDS} positive values (g, r, i, z); got {noise_sigma!r}"
        )
    return sigma


def _prepare_bands(bands: np.ndarray, subtract_background: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return C-contiguous native band images and the mask of non-finite pixels.

    Non-finite pixels are set to zero and flagged in the returned mask (any band). Float32 bands
    without background subtraction are used as they are (copied only if pixels must be zeroed):
    ``sep`` reads every image as float32, so a float64 copy would give the same measurements.
    Other input is copied to float64. The input is never modified.
    """
    in_place = bands.dtype == np.float32 and not subtract_background
    if in_place:
        data = np.ascontiguousarray(bands)
    else:
        data = np.array(bands, dtype=np.float64, order="C", copy=True)
    finite = np.isfinite(data)
    bad = ~finite.all(axis=0)
    if bad.any():
        if in_place:
            data = data.copy()
        data[~finite] = 0.0
    if subtract_background:
        mask = bad if bad.any() else None
        for k in range(_N_BANDS):
            bkg = sep.Background(data[k], mask=mask, bw=_BACKGROUND_MESH, bh=_BACKGROUND_MESH)
            bkg.subfrom(data[k])
        if bad.any():
            data[:, bad] = 0.0
    return data, bad


def _detection_image(data: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverse-variance-weighted mean of the r, i, z images and its noise sigma."""
    weights = 1.0 / sigma[list(_DETECTION_BANDS)] ** 2
    total = weights.sum()
    image = np.zeros(data.shape[1:], dtype=np.float64)
    for w, k in zip(weights, _DETECTION_BANDS, strict=True):
        image += np.multiply(w / total, data[k], dtype=np.float64)
    return image, float(1.0 / np.sqrt(total))


def _extract(detection: np.ndarray, det_sigma: float, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run ``sep.extract`` on the detection image; return the catalogue and segmentation map.

    Pixels flagged in ``bad`` are masked. ``sep`` failures propagate as exceptions.
    """
    return sep.extract(
        detection,
        _DETECT_THRESH,
        err=det_sigma,
        mask=bad if bad.any() else None,
        minarea=_DETECT_MINAREA,
        filter_kernel=_FILTER_KERNEL,
        deblend_nthresh=_DEBLEND_NTHRESH,
        deblend_cont=_DEBLEND_CONT,
        segmentation_map=True,
    )
