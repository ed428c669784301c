"""Figure of the simulated cutout statistics against the real reference values."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import save_png
from deepshadows.domain.realism_compare import compare_to_real
from deepshadows.domain.realism_targets import CHANNELS, REAL_TARGET_SOURCES, STATISTICS
from deepshadows.viz.style import _clipped_hist

__all__ = ["plot_calibration"]

#: Plot colour per class.
_CLASS_COLORS = {"lsbg": "tab:blue", "artifact": "tab:orange"}


def plot_calibration(
    stats_by_class: Mapping[str, Mapping[str, np.ndarray]],
    out_png: str | os.PathLike[str],
    *,
    reference: str = "des-dr1",
) -> Path:
    """Plot the simulated per-cutout statistics against the real values.

    One row of panels per statistic and one column per channel (R, G, B). Each panel shows the
    histograms of the simulated per-cutout values of every class with common bins, the real
    median of that class as a vertical line and its range (percentiles or tolerance, as in
    :func:`~deepshadows.domain.realism.compare_to_real`) as a shaded band.

    Parameters
    ----------
    stats_by_class : mapping of str to dict
        For each class, the output of :func:`~deepshadows.domain.realism.cutout_statistics`.
    out_png : path-like
        Output PNG file, written atomically.
    reference : {"des-dr1", "ls-dr9"}, optional
        Which real set to draw (:data:`~deepshadows.domain.realism.REAL_TARGETS`).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from matplotlib.figure import Figure

    rows = compare_to_real(stats_by_class, reference=reference)
    real = {(r["class"], r["statistic"], r["channel"]): r for r in rows}
    # A bare Figure renders with the Agg canvas and leaves pyplot's backend and state alone.
    fig = Figure(figsize=(11, 10), layout="constrained")
    axes = fig.subplots(len(STATISTICS), len(CHANNELS), squeeze=False)
    for i, statistic in enumerate(STATISTICS):
        for c, channel in enumerate(CHANNELS):
            per_class = {
                cls: np.asarray(stats[statistic], dtype=np.float64).reshape(-1, 3)[:, c]
                for cls, stats in stats_by_class.items()
            }
            reals = {cls: real[cls, statistic, channel] for cls in per_class}
            _plot_panel(axes[i, c], per_class, reals)
            axes[i, c].set_title(f"{statistic} · {channel}", fontsize=9)
            if c == 0:
                axes[i, c].set_ylabel("density", fontsize=8)
    description = REAL_TARGET_SOURCES[reference]["description"]
    return _finish(fig, axes, f"Simulated cutout statistics vs real ({reference}: {description})", out_png)


def _finish(fig: Any, axes: np.ndarray, title: str, out_png: str | os.PathLike[str]) -> Path:
    """Put the first panel's legend under the panels and the title above them; write the PNG."""
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_png(fig, out_png)


def _plot_panel(ax: Any, per_class: Mapping[str, np.ndarray], reals: Mapping[str, Mapping[str, Any]]) -> None:
    """Draw the simulated histograms and real ranges of one statistic and channel."""
    finite = {cls: v[np.isfinite(v)] for cls, v in per_class.items()}
    bins = _common_bins(
        list(finite.values()),
        [x for r in reals.values() for x in (r["real_low"], r["real_high"])],
    )
    for k, (cls, values) in enumerate(finite.items()):
        color = _CLASS_COLORS.get(cls, f"C{k + 2}")
        # Outliers beyond the 1-99 % range are piled into the edge bins, not dropped.
        _clipped_hist(
            ax, values, bins, histtype="step", lw=1.4, color=color, label=f"{cls} simulated (n={values.size})"
        )
        r = reals[cls]
        ax.axvspan(r["real_low"], r["real_high"], color=color, alpha=0.15, lw=0)
        ax.axvline(r["real_median"], color=color, ls="--", lw=1.2, label=f"{cls} real median and range")
    ax.tick_params(labelsize=8)


def _common_bins(samples: Sequence[np.ndarray], extra: Sequence[float], n_bins: int = 30) -> np.ndarray:
    """Return bin edges spanning the 1st-99th percentiles of all samples and the extra values.

    Medians of 8-bit pixels are multiples of 0.5 DN, mostly whole; for such samples each bin
    is a whole number of DN wide and holds both ``k`` and ``k + 0.5``, so the histogram has no
    empty teeth.
    """
    pooled = np.concatenate([np.ravel(s) for s in samples] + [np.zeros(0)])
    points = list(extra)
    if pooled.size:
        points += list(np.percentile(pooled, [1, 99]))
    if not points:
        return np.linspace(0.0, 1.0, n_bins + 1)
    lo, hi = float(min(points)), float(max(points))
    if pooled.size and np.all(pooled * 2 == np.round(pooled * 2)):
        step = max(1, math.ceil((hi - lo) / n_bins))
        first = math.floor(lo) - 0.25
        return np.arange(first, hi + step, step, dtype=np.float64)
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 0.5)
    return np.linspace(lo - pad, hi + pad, n_bins + 1)
