"""SourceExtractor-style features of the central object of a cutout, measured with ``sep``.

The T21/DS21 SVM and random-forest baselines were trained on 19 SourceExtractor quantities from
the DES Y3 Gold catalogue. This module measures stand-ins for them on the native-scale band
images of a simulated (or real) cutout, following the project's science specification:

1. detection on the inverse-variance-weighted r+i+z image with its noise sigma (``sep.extract``,
   threshold 1.5 sigma, minimum area 5 px, Gaussian filter of FWHM 3 px, 32 deblending levels,
   contrast 0.005), keeping the detection nearest the image centre within ``max_offset_arcsec``;
2. ellipticity ``1 - b/a`` of that detection;
3. MAG_AUTO in dual-image mode: one Kron ellipse (2.5 Kron radii, integration limit 6) measured
   on the detection image and summed in every band, with a 1.75 px circular fallback;
4. FLUX_RADIUS: radius of the circle holding half of the band's FLUX_AUTO (``sep.flux_radius``
   searched out to 6 a), in arcsec;
5. model-free surface brightnesses: MU_MEAN = MAG_AUTO + 2.5 log10(2 pi r_h^2), MU_EFF from the
   mean flux in the annulus 0.9-1.1 r_h and MU_MAX from the mean flux within 1.5 px of the
   centre, with ``mu = 22.5 - 2.5 log10(f / p^2)`` and the sentinel 30 where the mean flux is not
   positive.

Pixels of other segmented objects are masked in every aperture (``sep`` rescales the sum for the
masked area). Images are in nanomaggies per native pixel, band order g, r, i, z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sep

from deepshadows.errors import InputError

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

#: The 19 features, in the column order of the authors' training matrix.
FEATURE_NAMES: tuple[str, ...] = (
    "ellipticity",
    "g_i",
    "g_r",
    "r_i",
    "mag_auto_g",
    "mag_auto_r",
    "mag_auto_i",
    "flux_radius_g",
    "flux_radius_r",
    "flux_radius_i",
    "mu_max_g",
    "mu_max_r",
    "mu_max_i",
    "mu_eff_g",
    "mu_eff_r",
    "mu_eff_i",
    "mu_mean_g",
    "mu_mean_r",
    "mu_mean_i",
)

#: No detection within ``max_offset_arcsec`` of the image centre; every feature is NaN.
FLAG_NO_DETECTION: int = 1
#: ``sep`` raised or returned non-finite values; the affected features are NaN.
FLAG_MEASUREMENT_FAILED: int = 2
#: The Kron flux of at least one of g, r, i is not positive: that band's magnitude, colours and
#: flux radius are NaN and its MU_EFF and MU_MEAN are set to :data:`MU_SENTINEL`.
FLAG_NONPOSITIVE_FLUX: int = 4

#: Surface brightness recorded where the mean flux is not positive, mag/arcsec^2.
MU_SENTINEL: float = 30.0

#: Number of bands expected in the input (g, r, i, z).
_N_BANDS = 4
#: Names and indices of the bands whose features are measured.
_MEASURED_BANDS = (("g", 0), ("r", 1), ("i", 2))
#: Indices of the bands summed into the detection image (r, i, z).
_DETECTION_BANDS = (1, 2, 3)

_DETECT_THRESH = 1.5
_DETECT_MINAREA = 5
_DEBLEND_NTHRESH = 32
_DEBLEND_CONT = 0.005
_KRON_LIMIT = 6.0
_KRON_FACTOR = 2.5
_KRON_MIN_RADIUS = 1.75
_FLUX_RADIUS_RMAX = 6.0
_FLUX_RADIUS_FIRST_RMAX = 3.5
_FLUX_RADIUS_SUBPIX = 2
_MU_MAX_RADIUS = 1.5
_ANNULUS = (0.9, 1.1)
_BACKGROUND_MESH = 64
_COLUMN = {name: k for k, name in enumerate(FEATURE_NAMES)}


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


def _empty_features() -> np.ndarray:
    """Return a feature vector of NaN."""
    return np.full(len(FEATURE_NAMES), np.nan, dtype=np.float64)


def _surface_brightness(mean_flux: float, pixel_scale: float) -> float:
    """Convert a mean flux per pixel (nmgy) to mag/arcsec^2, with the sentinel for ``<= 0``."""
    if not np.isfinite(mean_flux):
        return np.nan
    if mean_flux <= 0.0:
        return MU_SENTINEL
    return float(22.5 - 2.5 * np.log10(mean_flux / pixel_scale**2))


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


def _flux_radius(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    flux: np.ndarray,
    masking: dict[str, np.ndarray],
) -> float:
    """Radius (pixels) of the circle holding half of ``flux``, searched out to ``6 a``.

    ``sep.flux_radius`` integrates 64 annuli out to ``rmax`` and returns the first crossing of
    the requested flux, or ``rmax`` when there is none; since the normalising flux is given,
    ``rmax`` only bounds the search. The profile is therefore integrated out to ``3.5 a`` first
    (a third of the pixels, and finer annuli) and out to ``6 a`` only when the half-flux
    radius lies beyond that.
    """
    rmax = _FLUX_RADIUS_FIRST_RMAX * a
    radius, _ = sep.flux_radius(image, x, y, rmax, 0.5, normflux=flux, subpix=_FLUX_RADIUS_SUBPIX, **masking)
    if radius[0] >= rmax[0]:
        radius, _ = sep.flux_radius(
            image,
            x,
            y,
            _FLUX_RADIUS_RMAX * a,
            0.5,
            normflux=flux,
            subpix=_FLUX_RADIUS_SUBPIX,
            **masking,
        )
    return float(radius[0])


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
        Subtract a ``sep.Background`` (64 px mesh) from every band first; off by default, for
        simulated skies, which are exactly zero.

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
        objects, segmap = sep.extract(
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


def _measure_object(
    data: np.ndarray,
    detection: np.ndarray,
    obj: np.ndarray,
    seg_number: int,
    segmap: np.ndarray,
    bad: np.ndarray,
    pixel_scale: float,
) -> tuple[np.ndarray, int]:
    """Measure the features of one detection (a length-1 slice of the ``sep`` catalogue)."""
    features = _empty_features()
    flag = 0
    x, y = obj["x"], obj["y"]
    a, b, theta = obj["a"], np.minimum(obj["b"], obj["a"]), obj["theta"]
    seg_id = np.array([seg_number], dtype=np.int32)
    masking = {"segmap": segmap, "seg_id": seg_id}
    if bad.any():
        masking["mask"] = bad

    if not (np.isfinite(a[0]) and np.isfinite(b[0]) and a[0] > 0 and b[0] >= 0):
        return features, FLAG_MEASUREMENT_FAILED
    features[_COLUMN["ellipticity"]] = 1.0 - b[0] / a[0]

    kron, _ = sep.kron_radius(detection, x, y, a, b, theta, _KRON_LIMIT, **masking)
    if not np.isfinite(kron[0]):
        return features, FLAG_MEASUREMENT_FAILED
    use_circle = bool(kron[0] * np.sqrt(a[0] * b[0]) < _KRON_MIN_RADIUS)
    annulus_area = np.pi * (_ANNULUS[1] ** 2 - _ANNULUS[0] ** 2)

    mags = {}
    for band, k in _MEASURED_BANDS:
        mags[band] = np.nan
        image = data[k]
        if use_circle:
            flux, _, _ = sep.sum_circle(image, x, y, _KRON_MIN_RADIUS, subpix=1, **masking)
        else:
            flux, _, _ = sep.sum_ellipse(image, x, y, a, b, theta, _KRON_FACTOR * kron, subpix=1, **masking)
        center, _, _ = sep.sum_circle(image, x, y, _MU_MAX_RADIUS, subpix=5, **masking)
        mu_max = _surface_brightness(center[0] / (np.pi * _MU_MAX_RADIUS**2), pixel_scale)
        features[_COLUMN[f"mu_max_{band}"]] = mu_max
        if np.isnan(mu_max):
            flag |= FLAG_MEASUREMENT_FAILED
        if not np.isfinite(flux[0]):
            flag |= FLAG_MEASUREMENT_FAILED
            continue
        if flux[0] <= 0.0:
            flag |= FLAG_NONPOSITIVE_FLUX
            features[_COLUMN[f"mu_eff_{band}"]] = MU_SENTINEL
            features[_COLUMN[f"mu_mean_{band}"]] = MU_SENTINEL
            continue
        mags[band] = mag = 22.5 - 2.5 * np.log10(flux[0])
        r_pix = _flux_radius(image, x, y, a, flux, masking)
        if not (np.isfinite(r_pix) and r_pix > 0):
            flag |= FLAG_MEASUREMENT_FAILED
            continue
        r_arcsec = r_pix * pixel_scale
        features[_COLUMN[f"flux_radius_{band}"]] = r_arcsec
        ring, _, _ = sep.sum_circann(
            image, x, y, _ANNULUS[0] * r_pix, _ANNULUS[1] * r_pix, subpix=5, **masking
        )
        features[_COLUMN[f"mu_eff_{band}"]] = _surface_brightness(
            ring[0] / (annulus_area * r_pix**2), pixel_scale
        )
        features[_COLUMN[f"mu_mean_{band}"]] = mag + 2.5 * np.log10(2.0 * np.pi * r_arcsec**2)

    for band, _ in _MEASURED_BANDS:
        features[_COLUMN[f"mag_auto_{band}"]] = mags[band]
    features[_COLUMN["g_i"]] = mags["g"] - mags["i"]
    features[_COLUMN["g_r"]] = mags["g"] - mags["r"]
    features[_COLUMN["r_i"]] = mags["r"] - mags["i"]
    return features, flag


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
        Float array of shape ``(N, 4, H, W)``; see :func:`measure_features`.
    pixel_scale : float
        Native pixel scale, arcsec per pixel.
    noise_sigma : sequence of float
        White-noise standard deviation of each band (g, r, i, z), nanomaggies per pixel.
    max_offset_arcsec : float, optional
        Largest accepted distance of the detection from the image centre, arcsec.
    subtract_background : bool, optional
        Subtract a ``sep.Background`` from every band first (for real data).

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
