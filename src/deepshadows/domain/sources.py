"""Sources that ``sep`` finds in 64 x 64 RGB cutouts: their number, sizes and colours.

Each cutout is measured on its own, in 8-bit display units. The background of each channel
is its sigma-clipped median (``bg_median`` of :func:`deepshadows.domain.realism.cutout_statistics`,
the section 7b statistic). Sources are detected on the mean of the three background-subtracted
channels, at ``thresh`` times its robust noise (1.4826 times the median absolute deviation)
with sep's default 3 x 3 filter, ``minarea`` connected pixels and sep's default deblending.

Per source: ``a`` and ``b`` (semi-axes, pixels), ``flux_radius`` (radius holding half of the
detection flux, pixels) and one instrumental magnitude per channel,
``mag_X = -2.5 log10(F_X)`` with ``F_X`` the background-subtracted sum of channel X over the
source's segmentation pixels (NaN where it is not positive). Colours are differences of these
magnitudes, e.g. ``B - R``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from deepshadows.domain.realism import CHANNELS
from deepshadows.errors import InputError

__all__ = ["DETECT_MINAREA", "DETECT_THRESH", "SOURCE_COLUMNS", "detect_sources"]

#: Detection threshold in units of the detection image's noise.
DETECT_THRESH = 3.0
#: Fewest connected pixels of a source.
DETECT_MINAREA = 5
#: Per-source columns returned by :func:`detect_sources`.
SOURCE_COLUMNS: tuple[str, ...] = (
    "cutout",
    "x",
    "y",
    "a",
    "b",
    "flux_radius",
    *(f"mag_{c}" for c in CHANNELS),
)


def _robust_std(values: np.ndarray) -> float:
    """Return 1.4826 times the median absolute deviation (the Gaussian sigma)."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _measure(image: np.ndarray, bg_median: np.ndarray, thresh: float, minarea: int) -> dict[str, np.ndarray]:
    """Detect and measure the sources of one (H, W, 3) cutout; see the module docstring."""
    import sep

    planes = np.ascontiguousarray(np.moveaxis(image.astype(np.float64) - bg_median, -1, 0))
    det = np.ascontiguousarray(planes.mean(axis=0))
    noise = _robust_std(det)
    if not noise > 0:
        noise = float(np.std(det)) or 1.0
    objects, segmap = sep.extract(det, thresh, err=noise, minarea=minarea, segmentation_map=True)
    n = len(objects)
    if n == 0:
        return {name: np.zeros(0) for name in SOURCE_COLUMNS[1:]}
    radius, _ = sep.flux_radius(
        det,
        objects["x"],
        objects["y"],
        np.clip(6.0 * objects["a"], 3.0, det.shape[0] / 2),
        0.5,
        normflux=objects["flux"],
        subpix=5,
    )
    labels = segmap.ravel()
    out = {
        "x": objects["x"].astype(np.float64),
        "y": objects["y"].astype(np.float64),
        "a": objects["a"].astype(np.float64),
        "b": objects["b"].astype(np.float64),
        "flux_radius": np.asarray(radius, dtype=np.float64),
    }
    for c, channel in enumerate(CHANNELS):
        flux = np.bincount(labels, weights=planes[c].ravel(), minlength=n + 1)[1 : n + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"mag_{channel}"] = np.where(flux > 0, -2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.nan)
    return out


def detect_sources(
    images: np.ndarray,
    bg_median: np.ndarray,
    *,
    thresh: float = DETECT_THRESH,
    minarea: int = DETECT_MINAREA,
) -> dict[str, Any]:
    """Detect the sources of every cutout with ``sep`` and measure their sizes and magnitudes.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, 3), uint8
        RGB cutouts, channels last.
    bg_median : ndarray of shape (N, 3)
        Background level per cutout and channel, DN (``bg_median`` of
        :func:`deepshadows.domain.realism.cutout_statistics`).
    thresh : float, optional
        Detection threshold in units of the detection image's noise.
    minarea : int, optional
        Fewest connected pixels of a source.

    Returns
    -------
    dict
        ``n_sources``: ndarray of shape (N,), sources per cutout; ``sources``: dict of the
        :data:`SOURCE_COLUMNS` (``cutout`` is the index in ``images``), one entry per source.

    Raises
    ------
    deepshadows.errors.InputError
        If the arrays have the wrong shapes or a parameter is out of range.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(f"images: expected shape (N, H, W, 3), got {images.shape}")
    bg = np.asarray(bg_median, dtype=np.float64)
    if bg.shape != (images.shape[0], 3):
        raise InputError(f"bg_median: expected shape ({images.shape[0]}, 3), got {bg.shape}")
    if not thresh > 0 or int(minarea) < 1:
        raise InputError(f"thresh and minarea must be positive, got {thresh} and {minarea}")
    counts = np.zeros(images.shape[0], dtype=np.int64)
    parts: list[Mapping[str, np.ndarray]] = []
    for i, image in enumerate(images):
        found = _measure(image, bg[i], float(thresh), int(minarea))
        counts[i] = found["x"].size
        parts.append(found | {"cutout": np.full(counts[i], i, dtype=np.float64)})
    sources = {
        name: np.concatenate([p[name] for p in parts]) if parts else np.zeros(0) for name in SOURCE_COLUMNS
    }
    sources["cutout"] = sources["cutout"].astype(np.int64)
    return {"n_sources": counts, "sources": sources}
