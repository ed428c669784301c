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
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import save_png
from deepshadows.errors import InputError

__all__ = [
    "STATISTICS",
    "CHANNELS",
    "REAL_TARGETS",
    "REAL_TARGET_SOURCES",
    "MEDIAN_TOLERANCE",
    "cutout_statistics",
    "compare_to_real",
    "comparison_markdown",
    "format_statistic",
    "reference_note",
    "plot_calibration",
]

#: Names of the statistics returned by :func:`cutout_statistics`, in display order.
STATISTICS: tuple[str, ...] = ("bg_median", "bg_std", "clip_frac", "center_excess")
#: Channel names of the last image axis, as served by the viewer (z -> R, r -> G, g -> B).
CHANNELS: tuple[str, ...] = ("R", "G", "B")

#: Side of the central box whose median gives ``center_excess``, pixels.
_CENTER_BOX = 16
#: Cutouts per call to ``sigma_clipped_stats``; bounds the float32 working copy to ~150 MB.
_CHUNK = 3000

#: Real values per reference set, class and statistic: ``{"median": (R, G, B)}``, plus ``"p16"``
#: and ``"p84"`` where the source gives the [16th, 84th] percentile range over cutouts.
#: Measured on real cutouts (science specification, section 7b); see the module docstring.
REAL_TARGETS: dict[str, dict[str, dict[str, dict[str, tuple[float, float, float]]]]] = {
    "des-dr1": {
        "lsbg": {
            "bg_median": {"median": (36.5, 34.5, 35.0)},
            "bg_std": {"median": (15.5, 9.1, 11.0)},
            "clip_frac": {"median": (0.043, 0.066, 0.047)},
            "center_excess": {"median": (14.0, 16.0, 22.0)},
        },
        "artifact": {
            "bg_median": {"median": (36.5, 35.0, 36.0)},
            "bg_std": {"median": (15.1, 10.1, 11.2)},
            "clip_frac": {"median": (0.041, 0.058, 0.065)},
            "center_excess": {"median": (10.0, 14.5, 16.5)},
        },
    },
    "ls-dr9": {
        "lsbg": {
            "bg_median": {"median": (33.0, 33.0, 33.0)},
            "bg_std": {"median": (6.8, 4.2, 4.9), "p16": (5.8, 3.7, 4.3), "p84": (8.1, 5.4, 6.0)},
            "clip_frac": {"median": (0.042, 0.068, 0.060)},
            "center_excess": {"median": (10.0, 12.0, 15.0)},
        },
        "artifact": {
            "bg_median": {"median": (35.0, 34.0, 34.0)},
            "bg_std": {"median": (7.8, 5.1, 5.9), "p16": (6.7, 4.4, 5.0), "p84": (10.5, 8.9, 9.5)},
            "clip_frac": {"median": (0.081, 0.109, 0.099)},
            "center_excess": {"median": (8.0, 9.0, 9.0)},
        },
    },
}

#: Where each reference set comes from and how many real cutouts per class it summarises.
REAL_TARGET_SOURCES: dict[str, dict[str, Any]] = {
    "des-dr1": {
        "description": "DeepShadows paper (Tanoglidis et al. 2021) Grad-CAM figure, des-dr1 layer",
        "n_cutouts": {"lsbg": 18, "artifact": 18},
    },
    "ls-dr9": {
        "description": "public DeepShadows re-implementation, ls-dr9 layer, random sample",
        "n_cutouts": {"lsbg": 74, "artifact": 76},
    },
}

#: Tolerance around a real median when no percentile range is published, as
#: ``(kind, value)`` with kind ``"abs"`` (DN) or ``"rel"`` (fraction of the real median).
#: The des-dr1 medians come from only 18 cutouts per class, so they are uncertain by about
#: 0.3 times the cutout-to-cutout scatter (standard error of a median, 1.25 sigma / sqrt(18)),
#: i.e. about 5-10 % for ``bg_std`` judging from the ls-dr9 [16, 84] ranges and much more for
#: ``clip_frac`` and ``center_excess``, which depend on the few bright neighbours and targets
#: in the field. The tolerances follow the acceptance checks of the science specification:
#: 2 DN on the sky level (the viewer's offset puts an empty sky at 32 DN; the real medians sit
#: 1-4.5 DN above it), +/-20 % on the background noise (the tolerance of the feature-distribution
#: check) and +/-30 % on the source-pixel fraction and the central excess (the tolerance of the
#: sky-noise check, the loosest of section 7, for the two statistics that scatter most).
MEDIAN_TOLERANCE: dict[str, tuple[str, float]] = {
    "bg_median": ("abs", 2.0),
    "bg_std": ("rel", 0.20),
    "clip_frac": ("rel", 0.30),
    "center_excess": ("rel", 0.30),
}


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


def _real_range(
    target: Mapping[str, Sequence[float]], statistic: str, channel: int
) -> tuple[float, float, float, str]:
    """Return (median, low, high, basis) of one real value; see :data:`MEDIAN_TOLERANCE`."""
    median = float(target["median"][channel])
    if "p16" in target and "p84" in target:
        return median, float(target["p16"][channel]), float(target["p84"][channel]), "p16-p84"
    kind, value = MEDIAN_TOLERANCE[statistic]
    if kind == "abs":
        return median, median - value, median + value, f"median ± {value:g} DN"
    delta = abs(median) * value
    return median, median - delta, median + delta, f"median ± {value * 100:g} %"


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    """Return the median, 16th and 84th percentiles of the finite values (NaN if none)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    p16, p50, p84 = np.percentile(values, [16, 50, 84])
    return float(p50), float(p16), float(p84)


def _check_reference(reference: str) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    try:
        return REAL_TARGETS[reference]
    except KeyError:
        raise InputError(
            f"reference: unknown set {reference!r}; choose from {sorted(REAL_TARGETS)}"
        ) from None


def compare_to_real(
    stats_by_class: Mapping[str, Mapping[str, np.ndarray]], *, reference: str = "des-dr1"
) -> list[dict[str, Any]]:
    """Compare simulated cutout statistics with the real values of one reference set.

    Parameters
    ----------
    stats_by_class : mapping of str to dict
        For each class (``"lsbg"``, ``"artifact"``), the output of :func:`cutout_statistics` on
        the simulated cutouts of that class.
    reference : {"des-dr1", "ls-dr9"}, optional
        Which real set to compare with (:data:`REAL_TARGETS`).

    Returns
    -------
    list of dict
        One row per (class, statistic, channel) with keys ``reference``, ``class``,
        ``statistic``, ``channel`` (``"R"``, ``"G"``, ``"B"``), ``n`` (simulated cutouts with a
        finite value), ``sim_median``, ``sim_p16``, ``sim_p84``, ``real_median``, ``real_low``,
        ``real_high``, ``basis`` (how the real range was formed) and ``within`` (whether the
        simulated median lies in ``[real_low, real_high]``).

    Raises
    ------
    deepshadows.errors.InputError
        If the reference set or a class is unknown, or a statistic is missing.

    Notes
    -----
    Where the reference gives a [16th, 84th] percentile range over cutouts (``bg_std`` of
    ``ls-dr9``), that range is used. Elsewhere, and for every des-dr1 value (medians of only
    18 cutouts per class), the range is the real median with the tolerance of
    :data:`MEDIAN_TOLERANCE`: +/-2 DN for ``bg_median``, +/-20 % for ``bg_std`` and +/-30 % for
    ``clip_frac`` and ``center_excess``. The ``basis`` field of each row says which applied.
    """
    targets = _check_reference(reference)
    rows: list[dict[str, Any]] = []
    for cls, stats in stats_by_class.items():
        if cls not in targets:
            raise InputError(f"class {cls!r}: no real values; expected one of {sorted(targets)}")
        for statistic in STATISTICS:
            if statistic not in stats:
                raise InputError(f"class {cls!r}: statistic {statistic!r} is missing")
            values = np.asarray(stats[statistic], dtype=np.float64).reshape(-1, 3)
            for c, channel in enumerate(CHANNELS):
                sim_median, sim_p16, sim_p84 = _summary(values[:, c])
                real_median, low, high, basis = _real_range(targets[cls][statistic], statistic, c)
                rows.append(
                    {
                        "reference": reference,
                        "class": cls,
                        "statistic": statistic,
                        "channel": channel,
                        "n": int(np.isfinite(values[:, c]).sum()),
                        "sim_median": sim_median,
                        "sim_p16": sim_p16,
                        "sim_p84": sim_p84,
                        "real_median": real_median,
                        "real_low": low,
                        "real_high": high,
                        "basis": basis,
                        "within": bool(low <= sim_median <= high),
                    }
                )
    return rows


def format_statistic(statistic: str, value: float) -> str:
    """Format one calibration value: fractions (``clip_frac``) to 3 decimals, DN to 1.

    Parameters
    ----------
    statistic : str
        One of :data:`STATISTICS`.
    value : float
        The value; NaN or infinite gives ``"n/a"``.

    Returns
    -------
    str
    """
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if statistic == "clip_frac" else f"{value:.1f}"


_VALUE_KEYS = ("sim_median", "sim_p16", "sim_p84", "real_median", "real_low", "real_high")


def comparison_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Format the rows of :func:`compare_to_real` as a Markdown table.

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`compare_to_real`.

    Returns
    -------
    str
        A Markdown table, one line per row, ending with a newline.
    """
    lines = [
        "| class | statistic | channel | simulated median [p16, p84] | real median | real range "
        "| basis | within |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        stat = row["statistic"]
        v = {key: format_statistic(stat, row[key]) for key in _VALUE_KEYS}
        sim = f"{v['sim_median']} [{v['sim_p16']}, {v['sim_p84']}]"
        lines.append(
            f"| {row['class']} | {stat} | {row['channel']} | {sim} "
            f"| {v['real_median']} "
            f"| [{v['real_low']}, {v['real_high']}] "
            f"| {row['basis']} | {'yes' if row['within'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def reference_note(reference: str) -> str:
    """Describe a set of real reference values and how far its numbers can be trusted.

    Parameters
    ----------
    reference : str
        A key of :data:`REAL_TARGETS` (``"des-dr1"`` or ``"ls-dr9"``).

    Returns
    -------
    str
        A Markdown paragraph to print under the comparison table, ending with a newline.

    Raises
    ------
    deepshadows.errors.InputError
        If ``reference`` is not a known set.
    """
    if reference not in REAL_TARGET_SOURCES:
        raise InputError(f"reference: expected one of {sorted(REAL_TARGET_SOURCES)}, got {reference!r}")
    source = REAL_TARGET_SOURCES[reference]
    counts = ", ".join(f"{n} {cls}" for cls, n in source["n_cutouts"].items())
    return (
        f"Real values: medians over real cutouts ({counts}) of the {source['description']}, "
        "recovered from published figures. Where no percentile range is published, the range is "
        "the real median with a tolerance (column basis). `clip_frac` depends strongly on how "
        "those figures were resampled: the simulated sky keeps plausible galaxy counts rather "
        "than matching it (the project's docs/simulation.md and scripts/calibration_depth.py "
        "show the evidence).\n"
    )


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
    :func:`compare_to_real`) as a shaded band.

    Parameters
    ----------
    stats_by_class : mapping of str to dict
        For each class, the output of :func:`cutout_statistics`.
    out_png : path-like
        Output PNG file, written atomically.
    reference : {"des-dr1", "ls-dr9"}, optional
        Which real set to draw (:data:`REAL_TARGETS`).

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
    handles, legend_labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, legend_labels, loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(
        f"Simulated cutout statistics vs real ({reference}: {REAL_TARGET_SOURCES[reference]['description']})",
        fontsize=10,
    )
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
        if values.size:
            # Outliers beyond the 1-99 % range are piled into the edge bins, not dropped.
            ax.hist(
                np.clip(values, bins[0], bins[-1]),
                bins=bins,
                histtype="step",
                lw=1.4,
                color=color,
                density=True,
                label=f"{cls} simulated (n={values.size})",
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
