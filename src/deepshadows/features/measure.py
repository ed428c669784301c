"""SourceExtractor-style features of the central object of a cutout, measured with ``sep``.

The T21/DS21 SVM and random-forest baselines were trained on 19 SourceExtractor quantities from
the DES Y3 Gold catalogue. This module measures stand-ins for them on the native-scale band
images of a simulated (or real) cutout, following the project's science specification:

1. detection on the inverse-variance-weighted r+i+z image with its noise sigma (``sep.extract``,
   threshold 1.5 sigma, minimum area 5 px, Gaussian filter of FWHM 3 px, 32 deblending levels,
   contrast 0.005), keeping the detection nearest the image centre within ``max_offset_arcsec``;
2. aperture photometry of that detection in g, r and i, as :mod:`deepshadows.features.photometry`
   describes it: ellipticity, MAG_AUTO in dual-image mode, FLUX_RADIUS and the model-free surface
   brightnesses MU_MEAN, MU_EFF and MU_MAX, with other segmented objects masked.

Images are in nanomaggies per native pixel, band order g, r, i, z.

The steps live in their own modules: :mod:`deepshadows.features.feature_table` (column names,
flag bits, sentinel), :mod:`deepshadows.features.detection` (input checks, background,
detection image and ``sep.extract``) and :mod:`deepshadows.features.photometry` (apertures,
radii and surface brightnesses of the candidate). This module selects the candidate and
re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sep  # noqa: F401  (kept importable as ``deepshadows.features.measure.sep``)

from deepshadows.errors import InputError
from deepshadows.features.detection import (
    _N_BANDS,
    _check_inputs,
    _detection_image,
    _extract,
    _prepare_bands,
)
from deepshadows.features.feature_table import (
    FEATURE_NAMES,
    FLAG_MEASUREMENT_FAILED,
    FLAG_NO_DETECTION,
    FLAG_NONPOSITIVE_FLUX,
    MU_SENTINEL,
    _empty_features,
)
from deepshadows.features.photometry import _measure_object

__all__ = [
    "Measurement",
    "measure_candidate",
    "FEATURE_NAMES",
    "FLAG_NO_DETECTION",
    "FLAG_MEASUREMENT_FAILED",
    "FLAG_NONPOSITIVE_FLUX",
    "MU_SENTINEL",
    "measure_features",
    "measure_many",
]


@dataclass(frozen=True)
class Measurement:
    """Features of the candidate detection and where it was found.

    Parameters
    ----------
    features : numpy.ndarray
        Float64 array of shape ``(19,)`` in the order of :data:`FEATURE_NAMES`.
    flag : int
        Bitmask of the ``FLAG_*`` values; zero for a clean measurement.
    x, y : float
        Centroid of the detection in pixels (0-based, column and row), NaN without a detection.
    """

    features: np.ndarray
    flag: int
    x: float = float("nan")
    y: float = float("nan")


def measure_features(
    bands: np.ndarray,
    *,
    pixel_scale: float,
    noise_sigma: Sequence[float],
    max_offset_arcsec: float = 2.0,
    subtract_background: bool = False,
) -> tuple[np.ndarray, int]:
    """Measure the 19 SourceExtractor-style features of the object at the centre of a cutout.

    Parameters
    ----------
    bands : numpy.ndarray
        Float array of shape ``(4, H, W)``: the g, r, i, z images in nanomaggies per native
        pixel, with the candidate at the image centre. Non-finite pixels are treated as masked.
    pixel_scale : float
        Native pixel scale, arcsec per pixel.
    noise_sigma : sequence of float
        White-noise standard deviation of each band (g, r, i, z), nanomaggies per pixel.
    max_offset_arcsec : float, optional
        Largest distance from the image centre at which a detection is accepted as the
        candidate, arcsec.
    subtract_background : bool, optional
        Subtract a ``sep.Background`` (64 px mesh) from every band first. Simulated skies are
        exactly zero, so this is off by default; turn it on for real coadds.

    Returns
    -------
    features : numpy.ndarray
        Float64 array of shape ``(19,)`` in the order of :data:`FEATURE_NAMES`; magnitudes in
        AB mag, radii in arcsec, surface brightnesses in mag/arcsec^2.
    flag : int
        Bitmask of :data:`FLAG_NO_DETECTION`, :data:`FLAG_MEASUREMENT_FAILED` and
        :data:`FLAG_NONPOSITIVE_FLUX`; zero for a clean measurement.

    Raises
    ------
    InputError
        If the array shape, pixel scale or noise levels are invalid. Bad pixel values never
        raise: a failed detection or measurement gives NaN features and a flag.
    """
    result = measure_candidate(
        bands,
        pixel_scale=pixel_scale,
        noise_sigma=noise_sigma,
        max_offset_arcsec=max_offset_arcsec,
        subtract_background=subtract_background,
    )
    return result.features, result.flag


def measure_candidate(
    bands: np.ndarray,
    *,
    pixel_scale: float,
    noise_sigma: Sequence[float],
    max_offset_arcsec: float = 2.0,
    subtract_background: bool = False,
) -> Measurement:
    """Detect the candidate at the centre of a cutout and measure it; see :func:`measure_features`.

    The candidate is the detection whose segment covers the central pixel, if its centroid lies
    within ``max_offset_arcsec``; otherwise the detection nearest to the centre within that
    distance.

    Parameters
    ----------
    bands, pixel_scale, noise_sigma, max_offset_arcsec, subtract_background
        As for :func:`measure_features`.

    Returns
    -------
    Measurement
        Features, flag and the detection's centroid.

    Raises
    ------
    InputError
        If the array shape, pixel scale or noise levels are invalid.
    """
    bands = np.asarray(bands)
    sigma = _check_inputs(bands, pixel_scale, noise_sigma)
    try:
        data, bad = _prepare_bands(bands, subtract_background)
        detection, det_sigma = _detection_image(data, sigma)
        # sep reads images as float32; converting once here spares a conversion in every call.
        detection = detection.astype(np.float32)
        objects, segmap = _extract(detection, det_sigma, bad)
    except Exception:  # sep reports buffer overflows and similar failures as exceptions
        return Measurement(_empty_features(), FLAG_MEASUREMENT_FAILED)

    if len(objects) == 0:
        return Measurement(_empty_features(), FLAG_NO_DETECTION)
    height, width = detection.shape
    offsets = np.hypot(objects["x"] - 0.5 * (width - 1), objects["y"] - 0.5 * (height - 1))
    limit = max_offset_arcsec / pixel_scale
    central = int(segmap[height // 2, width // 2]) - 1
    best = central if central >= 0 and offsets[central] <= limit else int(np.argmin(offsets))
    if not offsets[best] <= limit:
        return Measurement(_empty_features(), FLAG_NO_DETECTION)

    x, y = float(objects["x"][best]), float(objects["y"][best])
    try:
        features, flag = _measure_object(
            data, detection, objects[best : best + 1], best + 1, segmap, bad, pixel_scale
        )
    except Exception:  # any sep failure on this object leaves NaN features
        return Measurement(_empty_features(), FLAG_MEASUREMENT_FAILED, x, y)
    return Measurement(features, flag, x, y)


def measure_many(
    bands: np.ndarray,
    *,
    pixel_scale: float,
    noise_sigma: Sequence[float],
    max_offset_arcsec: float = 2.0,
    subtract_background: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Measure the features of a stack of cutouts.

    Parameters
    ----------
    bands : numpy.ndarray
        Float array of shape ``(N, 4, H, W)``: one cutout of :func:`measure_features` per row.
    pixel_scale, noise_sigma, max_offset_arcsec, subtract_background
        As for :func:`measure_features`.

    Returns
    -------
    features : numpy.ndarray
        Float64 array of shape ``(N, 19)``.
    flags : numpy.ndarray
        Integer array of shape ``(N,)`` with the bitmask of each cutout.

    Raises
    ------
    InputError
        If ``bands`` is not four-dimensional or the other arguments are invalid.
    """
    bands = np.asarray(bands)
    if bands.ndim != 4:
        raise InputError(f"bands must have shape (N, {_N_BANDS}, H, W); got {bands.shape}")
    n = bands.shape[0]
    features = np.full((n, len(FEATURE_NAMES)), np.nan, dtype=np.float64)
    flags = np.zeros(n, dtype=np.int64)
    for i in range(n):
        features[i], flags[i] = measure_features(
            bands[i],
            pixel_scale=pixel_scale,
            noise_sigma=noise_sigma,
            max_offset_arcsec=max_offset_arcsec,
            subtract_background=subtract_background,
        )
    return features, flags
