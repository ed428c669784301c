"""Features of float band images: the 19 SourceExtractor-style features and their table dtype.

The features are measured as for the simulated cutouts (see :mod:`deepshadows.features`); an
object without an i band gets NaN for the i-band features.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES, measure_features
from deepshadows.surveys import BANDS, Survey, get_survey
from deepshadows.viewer import lanczos_matrix

__all__ = [
    "I_BAND_FEATURES",
    "feature_dtype",
    "measure_band_features",
    "min_cutout_pixels",
    "resample_to_native",
]

#: Features that need the i band.
I_BAND_FEATURES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n.endswith("_i"))
# Without an i image the r image stands in for it, with a noise so large that it adds nothing
# to the detection image; the i-band features are then discarded.
_ABSENT_BAND_NOISE_FACTOR = 1e4


def feature_dtype() -> np.dtype:
    """Return the structured dtype of the store's ``features`` table (float32 per feature).

    Returns
    -------
    numpy.dtype
        One float32 field per name of :data:`deepshadows.features.FEATURE_NAMES`, in that order.
    """
    return np.dtype([(name, np.float32) for name in FEATURE_NAMES])


def min_cutout_pixels(survey: Survey | str, pixel_scale: float | None = None) -> int:
    """Return the least side, in pixels of ``pixel_scale``, of band images that cover the viewer's field.

    The viewer cutout spans ``survey.field_of_view`` arcsec; band images must span at least as
    much for :func:`deepshadows.viewer.bands_to_cutout` to fill it.

    Parameters
    ----------
    survey : Survey or str
        Gives the field of view and, by default, the pixel scale.
    pixel_scale : float, optional
        Pixel scale of the band images in arcsec (default: the survey's native scale).

    Returns
    -------
    int
        ``field_of_view / pixel_scale`` rounded up.
    """
    survey = get_survey(survey)
    scale = survey.native_scale if pixel_scale is None else float(pixel_scale)
    return int(np.ceil(survey.field_of_view / scale - 1e-9))


def resample_to_native(
    bands: Mapping[str, np.ndarray], *, pixel_scale: float, survey: Survey | str
) -> dict[str, np.ndarray]:
    """Resample band images to the survey's native pixel scale with Lanczos-3, as the cutout service does.

    Pixel values are interpolated, not summed (:func:`deepshadows.viewer.lanczos_matrix`): band
    images at any pixel scale hold nanomaggies per *native* pixel, so the features measured on
    the result are those of native-scale images of the same field.

    Parameters
    ----------
    bands : mapping of str to ndarray of shape (H, W)
        Band images in nanomaggies per native pixel, object at the centre.
    pixel_scale : float
        Their pixel scale in arcsec.
    survey : Survey or str
        Gives the native pixel scale.

    Returns
    -------
    dict of str to ndarray of shape (h, w), float32
        The images on the centred native grid that fits inside their field
        (``h = floor(H * pixel_scale / native_scale)``); the input images themselves when the
        scale is the native one.
    """
    native = get_survey(survey).native_scale
    if abs(float(pixel_scale) - native) <= 1e-6 * native:
        return {band: np.asarray(image, dtype=np.float32) for band, image in bands.items()}
    out: dict[str, np.ndarray] = {}
    for band, image in bands.items():
        height, width = np.shape(image)
        side_y, side_x = (max(1, int(np.floor(n * pixel_scale / native + 1e-9))) for n in (height, width))
        w_y = lanczos_matrix(height, float(pixel_scale), side_y, native)
        w_x = lanczos_matrix(width, float(pixel_scale), side_x, native)
        out[band] = w_y @ np.asarray(image, dtype=np.float32) @ w_x.T
    return out


def measure_band_features(
    bands: Mapping[str, np.ndarray],
    *,
    survey: Survey | str,
    pixel_scale: float | None = None,
    subtract_background: bool = False,
) -> tuple[np.ndarray, int]:
    """Measure the 19 SourceExtractor-style features from float band images, as the simulator does.

    Calls :func:`deepshadows.features.measure_features` with the survey's per-pixel noise. Without
    an i band, the r image stands in for it with a negligible detection weight and the features
    in :data:`I_BAND_FEATURES` are set to NaN.

    Parameters
    ----------
    bands : mapping of str to ndarray of shape (H, W)
        At least g, r and z, in nanomaggies per native pixel, object at the centre.
    survey : Survey or str
        Gives the noise levels and, by default, the pixel scale.
    pixel_scale : float, optional
        Pixel scale of ``bands`` in arcsec (default: the survey's native scale).
    subtract_background : bool, optional
        Subtract a ``sep`` background first (off, as for the simulated cutouts).

    Returns
    -------
    features : ndarray of shape (19,), float64
        In the order of :data:`deepshadows.features.FEATURE_NAMES`.
    flag : int
        The measurement's bitmask (see :mod:`deepshadows.features`).

    Raises
    ------
    deepshadows.errors.InputError
        If g, r or z is missing.
    """
    survey = get_survey(survey)
    missing = [b for b in ("g", "r", "z") if b not in bands]
    if missing:
        raise InputError(f"bands: missing band(s) {', '.join(missing)}; the features need g, r, z (and i)")
    noise = survey.pixel_noise()
    sigma = [noise[b] for b in BANDS]
    has_i = "i" in bands
    if not has_i:
        sigma[BANDS.index("i")] = noise["r"] * _ABSENT_BAND_NOISE_FACTOR
    stack = np.stack([np.asarray(bands[b if b != "i" or has_i else "r"], dtype=np.float32) for b in BANDS])
    features, flag = measure_features(
        stack,
        pixel_scale=survey.native_scale if pixel_scale is None else float(pixel_scale),
        noise_sigma=sigma,
        subtract_background=subtract_background,
    )
    if not has_i:
        features = features.copy()
        features[[FEATURE_NAMES.index(n) for n in I_BAND_FEATURES]] = np.nan
    return features, int(flag)
