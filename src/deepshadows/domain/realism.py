"""Background, source-pixel and central-excess statistics of 64 x 64 RGB cutouts.

The same four numbers per cutout and channel were measured on real DeepShadows cutouts (science
specification, section 7b), so comparing their distributions on a simulated set with the real
values tells whether the simulator's depth, stretch and resize filter are right:

``bg_median``, ``bg_std``
    Median and standard deviation from :func:`astropy.stats.sigma_clipped_stats` with
    ``sigma=3, maxiters=10`` over all pixels of the cutout (sources are clipped away).
``clip_frac``
    Fraction of pixels outside ``bg_median +/- 3 bg_std``, i.e. the pixels that belong to sources.
``center_excess``
    Median of the central 16 x 16 pixels minus ``bg_median``: how much the target stands out.

All values are in 8-bit display units (DN, 0-255) except ``clip_frac`` (a fraction).

The real values (:data:`REAL_TARGETS`) come from 254 real 64 x 64 RGB cutouts recovered from
published figures: 36 from the DeepShadows paper's Grad-CAM figure (Tanoglidis et al. 2021,
``des-dr1`` viewer cutouts, 18 per class) and 218 from a public re-implementation that used the
``ls-dr9`` viewer layer (deeper imaging of the same sky; 74 LSBGs and 76 artifacts in its random
sample). The paper set gives medians only; the ``ls-dr9`` set also gives the 16th and 84th
percentiles of ``bg_std``.

The measurement lives here; the real values are in :mod:`deepshadows.domain.realism_targets`,
their comparison with simulated values in :mod:`deepshadows.domain.realism_compare` and the
figure in :mod:`deepshadows.domain.realism_figures`. Every name is importable from this module.
"""

from __future__ import annotations

import numpy as np

from deepshadows.domain import realism_targets
from deepshadows.domain.realism_compare import _VALUE_KEYS as _VALUE_KEYS
from deepshadows.domain.realism_compare import _real_range as _real_range
from deepshadows.domain.realism_compare import _summary as _summary
from deepshadows.domain.realism_compare import compare_to_real, comparison_markdown, format_statistic
from deepshadows.domain.realism_figures import _CLASS_COLORS as _CLASS_COLORS
from deepshadows.domain.realism_figures import _common_bins as _common_bins
from deepshadows.domain.realism_figures import _plot_panel as _plot_panel
from deepshadows.domain.realism_figures import plot_calibration
from deepshadows.domain.realism_targets import CHANNELS as CHANNELS
from deepshadows.domain.realism_targets import MEDIAN_TOLERANCE as MEDIAN_TOLERANCE
from deepshadows.domain.realism_targets import REAL_TARGET_SOURCES as REAL_TARGET_SOURCES
from deepshadows.domain.realism_targets import REAL_TARGETS as REAL_TARGETS
from deepshadows.domain.realism_targets import STATISTICS as STATISTICS
from deepshadows.domain.realism_targets import _check_reference as _check_reference
from deepshadows.domain.realism_targets import reference_note as reference_note
from deepshadows.errors import InputError

__all__ = [
    *realism_targets.__all__,
    "cutout_statistics",
    "compare_to_real",
    "comparison_markdown",
    "format_statistic",
    "plot_calibration",
]

#: Side of the central box whose median gives ``center_excess``, pixels.
_CENTER_BOX = 16
#: Cutouts per call to ``sigma_clipped_stats``; bounds the float32 working copy to ~150 MB.
_CHUNK = 3000


def cutout_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Measure background level, noise, source-pixel fraction and central excess per cutout.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, 3), uint8
        RGB cutouts as served by the viewer (64 x 64 for DeepShadows), channels last, in DN.

    Returns
    -------
    dict of str to ndarray of shape (N, 3), float64
        ``bg_median``, ``bg_std`` (DN), ``clip_frac`` (fraction of pixels) and
        ``center_excess`` (DN) per cutout and channel (R, G, B); see the module docstring.

    Raises
    ------
    deepshadows.errors.InputError
        If ``images`` is not a stack of RGB images at least 16 pixels on a side.

    Notes
    -----
    ``sigma_clipped_stats`` runs once per chunk of cutouts with ``axis=(1, 2)`` on an array of
    shape (n * 3, H, W), which gives the same numbers as one call per cutout and channel and is
    a few hundred times faster than a Python loop of calls.
    """
    from astropy.stats import sigma_clipped_stats

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(f"images: expected shape (N, H, W, 3), got {images.shape}")
    n, height, width, _ = images.shape
    if height < _CENTER_BOX or width < _CENTER_BOX:
        raise InputError(f"images: cutouts must be at least {_CENTER_BOX} px on a side, got {height}x{width}")
    out = {name: np.empty((n, 3), dtype=np.float64) for name in STATISTICS}
    y0, x0 = (height - _CENTER_BOX) // 2, (width - _CENTER_BOX) // 2
    for start in range(0, n, _CHUNK):
        # (n, H, W, 3) -> (n * 3, H, W): one plane per cutout and channel. uint8 values are exact
        # in float32, which halves memory and time against float64.
        planes = np.moveaxis(images[start : start + _CHUNK], -1, 1).astype(np.float32)
        planes = planes.reshape(-1, height, width)
        _, median, std = sigma_clipped_stats(planes, sigma=3.0, maxiters=10, axis=(1, 2))
        median = np.asarray(median, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        outside = np.abs(planes - median[:, None, None]) > 3.0 * std[:, None, None]
        center = np.median(planes[:, y0 : y0 + _CENTER_BOX, x0 : x0 + _CENTER_BOX], axis=(1, 2))
        rows = slice(start, start + planes.shape[0] // 3)
        out["bg_median"][rows] = median.reshape(-1, 3)
        out["bg_std"][rows] = std.reshape(-1, 3)
        out["clip_frac"][rows] = outside.mean(axis=(1, 2)).reshape(-1, 3)
        out["center_excess"][rows] = (center - median).reshape(-1, 3)
    return out
