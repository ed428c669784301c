"""Aperture photometry of one detection with ``sep``: magnitudes, radii and surface brightnesses.

Given the ``sep`` catalogue entry of the candidate, this module measures, in each of g, r, i:

1. ellipticity ``1 - b/a`` of the detection;
2. MAG_AUTO in dual-image mode: one Kron ellipse (2.5 Kron radii, integration limit 6) measured
   on the detection image and summed in every band, with a 1.75 px circular fallback;
3. FLUX_RADIUS: radius of the circle holding half of the band's FLUX_AUTO (``sep.flux_radius``
   searched out to 6 a), in arcsec;
4. model-free surface brightnesses: MU_MEAN = MAG_AUTO + 2.5 log10(2 pi r_h^2), MU_EFF from the
   mean flux in the annulus 0.9-1.1 r_h and MU_MAX from the mean flux within 1.5 px of the
   centre, with ``mu = 22.5 - 2.5 log10(f / p^2)`` and the sentinel 30 where the mean flux is not
   positive.

Pixels of other segmented objects are masked in every aperture (``sep`` rescales the sum for the
masked area).
"""

from __future__ import annotations

import numpy as np
import sep

from deepshadows.features.feature_table import (
    _COLUMN,
    FLAG_MEASUREMENT_FAILED,
    FLAG_NONPOSITIVE_FLUX,
    MU_SENTINEL,
    _empty_features,
)

__all__: list[str] = []

#: Names and indices of the bands whose features are measured.
_MEASURED_BANDS = (("g", 0), ("r", 1), ("i", 2))

_KRON_LIMIT = 6.0
_KRON_FACTOR = 2.5
_KRON_MIN_RADIUS = 1.75
_FLUX_RADIUS_RMAX = 6.0
_FLUX_RADIUS_FIRST_RMAX = 3.5
_FLUX_RADIUS_SUBPIX = 2
_MU_MAX_RADIUS = 1.5
_ANNULUS = (0.9, 1.1)


def _surface_brightness(mean_flux: float, pixel_scale: float) -> float:
    """Convert a mean flux per pixel (nmgy) to mag/arcsec^2, with the sentinel for ``<= 0``."""
    if not np.isfinite(mean_flux):
        return np.nan
    if mean_flux <= 0.0:
        return MU_SENTINEL
    return float(22.5 - 2.5 * np.log10(mean_flux / pixel_scale**2))


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
