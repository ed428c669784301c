"""Figures of a store-to-reference comparison: cutouts side by side, statistics and sources."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.domain.realism import CHANNELS, STATISTICS, _common_bins
from deepshadows.domain.realism_figures import _finish
from deepshadows.domain.tables import SOURCE_QUANTITIES
from deepshadows.viz import contact_sheet
from deepshadows.viz.style import _clipped_hist

__all__ = ["plot_calibration_pair", "plot_sources_pair", "side_by_side_sheet"]

#: Colour per class, line style per side (the store solid, the reference dashed).
_CLASS_COLORS = {"lsbg": "tab:blue", "artifact": "tab:orange"}
_SIDE_COLORS = ("tab:green", "tab:purple")
_STYLES = ("-", "--")
_CLASS_TITLES = {"lsbg": "LSBG", "artifact": "artifact"}


@fill_doc
def side_by_side_sheet(
    samples: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    names: Sequence[str],
    out_png: str | os.PathLike[str],
) -> Path:
    """Draw the chosen cutouts of both sets, one row per class and set, the same number per class.

    Parameters
    ----------
    samples : mapping
        ``samples[name][cls]`` is ``(images, rows)``: the chosen cutouts of class ``cls`` of the
        set ``name`` and their row numbers in its store (shown under each cutout).
    names : sequence of str
        The store's and the reference's name, keys of ``samples``; the store's rows come first.
    %(out_png)s

    Returns
    -------
    %(written_png)s
    """
    images, groups, captions, titles = [], [], [], {}
    classes = list(samples[names[0]])
    for k, cls in enumerate(classes):
        for s, name in enumerate(names):
            imgs, rows = samples[name][cls]
            # Group keys sort in drawing order: class, then store before reference.
            key = f"{k}{s} {cls} {name}"
            titles[key] = f"{_CLASS_TITLES.get(cls, cls)} · {name}"
            images.append(imgs)
            groups += [key] * len(imgs)
            captions += [f"{name[:1]}#{int(r)}" for r in rows]
    per_group = max(len(samples[n][c][0]) for n in names for c in classes)
    return contact_sheet(
        np.concatenate(images),
        ["artifact"] * len(groups),
        groups,
        out_png,
        per_group=max(per_group, 1),
        titles=titles,
        captions=captions,
    )


def _hist(ax: Any, samples: Sequence[tuple[np.ndarray, str, str, str]], bins: np.ndarray) -> None:
    """Draw step histograms of (values, label, colour, line style) with common bins."""
    for values, label, color, style in samples:
        values = values[np.isfinite(values)]
        _clipped_hist(
            ax,
            values,
            bins,
            histtype="step",
            lw=1.3,
            color=color,
            ls=style,
            label=f"{label} (n={values.size})",
        )
    ax.tick_params(labelsize=7)


@fill_doc
def plot_calibration_pair(
    stats: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    names: Sequence[str],
    out_png: str | os.PathLike[str],
) -> Path:
    """Histograms of the section 7b statistics of both sets, per statistic, channel and class.

    Parameters
    ----------
    stats : mapping
        ``stats[name][cls]``: output of :func:`deepshadows.domain.realism.cutout_statistics`.
    names : sequence of str
        The store's and the reference's name (solid and dashed lines).
    %(out_png)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 10), layout="constrained")
    axes = fig.subplots(len(STATISTICS), len(CHANNELS), squeeze=False)
    for i, statistic in enumerate(STATISTICS):
        for c, channel in enumerate(CHANNELS):
            samples = [
                (
                    np.asarray(stats[name][cls][statistic], dtype=np.float64).reshape(-1, 3)[:, c],
                    f"{cls} · {name}",
                    _CLASS_COLORS.get(cls, "0.3"),
                    _STYLES[s],
                )
                for cls in stats[names[0]]
                for s, name in enumerate(names)
            ]
            _hist(axes[i, c], samples, _common_bins([v for v, *_ in samples], []))
            axes[i, c].set_title(f"{statistic} · {channel}", fontsize=9)
    return _finish(fig, axes, f"Cutout statistics: {names[0]} (solid) vs {names[1]} (dashed)", out_png)


@fill_doc
def plot_sources_pair(
    quantities: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    names: Sequence[str],
    out_png: str | os.PathLike[str],
) -> Path:
    """Distributions of the ``sep`` sources of both sets: one row per class.

    Columns: sources per cutout, semi-major axis, half-flux radius, magnitude in B (histograms)
    and the colour-magnitude diagram B - R against B (scatter).

    Parameters
    ----------
    quantities : mapping
        ``quantities[name][cls]``: output of :func:`deepshadows.domain.tables.source_quantities`.
    names : sequence of str
        The store's and the reference's name.
    %(out_png)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    classes = list(quantities[names[0]])
    hists = ("n_sources", "a", "flux_radius", "mag_B")
    fig = Figure(figsize=(16, 3.4 * len(classes) + 0.8), layout="constrained")
    axes = fig.subplots(len(classes), len(hists) + 1, squeeze=False)
    for r, cls in enumerate(classes):
        for c, quantity in enumerate(hists):
            samples = [
                (np.asarray(quantities[n][cls][quantity], dtype=np.float64), n, _SIDE_COLORS[s], "-")
                for s, n in enumerate(names)
            ]
            finite = [v[np.isfinite(v)] for v, *_ in samples]
            if quantity == "n_sources":
                top = max([1.0, *(float(v.max()) for v in finite if v.size)])
                bins = np.arange(-0.5, top + 1.5, max(1, int(np.ceil((top + 1) / 30))))
            else:
                bins = _common_bins(finite, [])
            _hist(axes[r, c], samples, bins)
            axes[r, c].set_title(f"{_CLASS_TITLES.get(cls, cls)} · {SOURCE_QUANTITIES[quantity]}", fontsize=9)
        ax = axes[r, len(hists)]
        for s, name in enumerate(names):
            q = quantities[name][cls]
            ax.scatter(q["mag_B"], q["B-R"], s=4, alpha=0.5, color=_SIDE_COLORS[s], label=name, lw=0)
        ax.set_xlabel("B (instrumental mag)", fontsize=8)
        ax.set_ylabel("B - R", fontsize=8)
        ax.set_title(f"{_CLASS_TITLES.get(cls, cls)} · colour-magnitude", fontsize=9)
        ax.tick_params(labelsize=7)
    return _finish(fig, axes, f"Sources found by sep: {names[0]} vs {names[1]}", out_png)
