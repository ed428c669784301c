"""Figures of the selection function: the mu_eff-R_eff map, marginal curves and contamination."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from astropy.table import Table

from deepshadows._docs import fill_doc
from deepshadows.completeness.tables import STAGES, _binned_passes, _fraction
from deepshadows.metrics.binomial import binomial_interval
from deepshadows.simulate.truth import AXES
from deepshadows.viz.style import _save

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_completeness_map", "plot_contamination", "plot_marginals", "plot_mu_by_size"]

_STAGE_STYLE = {"preselection": ("tab:blue", "s"), "classifier": ("tab:orange", "o"), "both": ("black", "D")}
_STAGE_TITLE = {
    "preselection": "preselection",
    "classifier": "classifier",
    "both": "preselection and classifier",
}


def _completeness_panel(ax: Axes, xlabel: str) -> None:
    """Set up a panel of completeness curves: the 50 % line, the x label, the limits, a grid."""
    ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)


def _label_completeness(axes: Sequence[Axes]) -> None:
    """Label the shared completeness axis and draw the legend, both on the first panel."""
    axes[0].set_ylabel("completeness")
    axes[0].legend(fontsize=8, loc="lower left")


@fill_doc
def plot_completeness_map(table: Table, out_png: str | os.PathLike[str], *, title: str = "") -> Path:
    """Draw the completeness of each stage in the mean surface brightness - radius plane.

    Parameters
    ----------
    table : astropy.table.Table
        :func:`deepshadows.completeness.tables.binned_completeness` over ``("mu_eff", "r_eff")``.
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    mu, radius = AXES["mu_eff"], AXES["r_eff"]
    shape = (len(mu.edges) - 1, len(radius.edges) - 1)
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, len(STAGES), sharey=True)
    mesh = None
    for ax, stage in zip(axes, STAGES, strict=True):
        values = np.asarray(table[stage], dtype=float).reshape(shape).T
        mesh = ax.pcolormesh(mu.edges, radius.edges, values, vmin=0, vmax=1, cmap="viridis", shading="flat")
        if np.isfinite(values).sum() > 3:
            ax.contour(mu.centres, radius.centres, values, levels=[0.5], colors="white", linewidths=1.5)
        ax.set_yscale("log")
        ax.set_xlabel(mu.label)
        ax.set_title(_STAGE_TITLE[stage], fontsize=10)
    axes[0].set_ylabel(radius.label)
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), label="completeness (white: 50 %)")
    return _save(fig, out_png, title=title)


@fill_doc
def plot_marginals(tables: Mapping[str, Table], out_png: str | os.PathLike[str], *, title: str = "") -> Path:
    """Draw the completeness of each stage against each truth axis, with binomial intervals.

    Parameters
    ----------
    tables : mapping of str to astropy.table.Table
        Axis name to :func:`deepshadows.completeness.tables.binned_completeness` over that axis.
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(tables), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(tables), sharey=True))
    for ax, (name, table) in zip(axes, tables.items(), strict=True):
        axis = AXES[name]
        x = np.asarray(table[f"{name}_mid"], dtype=float)
        for stage in STAGES:
            y = np.asarray(table[stage], dtype=float)
            err = np.abs(
                np.vstack([y - np.asarray(table[f"{stage}_low"]), np.asarray(table[f"{stage}_high"]) - y])
            )
            colour, marker = _STAGE_STYLE[stage]
            ax.errorbar(x, y, yerr=err, color=colour, marker=marker, ms=3.5, lw=1.2, capsize=2, label=stage)
        if axis.log:
            ax.set_xscale("log")
        _completeness_panel(ax, axis.label)
    _label_completeness(axes)
    return _save(fig, out_png, title=title)


@fill_doc
def plot_mu_by_size(
    objects: Table,
    radii: Sequence[float],
    out_png: str | os.PathLike[str],
    *,
    width: float = 0.15,
    title: str = "",
) -> Path:
    """Draw completeness against surface brightness in thin slices of radius, one panel per stage.

    Parameters
    ----------
    objects : astropy.table.Table
        Per-object table (``kind``, ``r_eff``, ``mu_mean_g``, ``passed_<stage>``).
    radii : sequence of float
        Radii of the slices, arcsec; a slice holds ``|ln(R_eff / r)| < ln(1 + width)``.
    %(out_png)s
    width : float, optional
        Relative half width of a slice.
    %(title)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    edges = np.asarray(AXES["mu_eff"].edges)
    centres = AXES["mu_eff"].centres
    lsbg = np.asarray(objects["kind"]) == "lsbg"
    radius = np.asarray(objects["r_eff"], dtype=float)
    mu = np.asarray(objects["mu_mean_g"], dtype=float)
    fig = Figure(figsize=(13, 3.9), layout="constrained")
    axes = fig.subplots(1, len(STAGES), sharey=True)
    for ax, stage in zip(axes, STAGES, strict=True):
        passed = np.asarray(objects[f"passed_{stage}"], dtype=float)
        for r in radii:
            keep = lsbg & (np.abs(np.log(radius / r)) < np.log1p(width))
            n, k = _binned_passes(mu[keep], passed[keep], edges)
            low, high = binomial_interval(k, n)
            line = ax.plot(centres, _fraction(k, n), marker="o", ms=3, lw=1.3, label=f'R_eff ≈ {r:g}"')[0]
            ax.fill_between(centres, low, high, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_title(_STAGE_TITLE[stage], fontsize=10)
        _completeness_panel(ax, AXES["mu_eff"].label)
    _label_completeness(axes)
    return _save(fig, out_png, title=title)


@fill_doc
def plot_contamination(
    curves: Table, threshold: float, out_png: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw the fraction of each artifact group that the classifier passes, against the threshold.

    Parameters
    ----------
    curves : astropy.table.Table
        :func:`deepshadows.completeness.tables.contamination_curves`.
    threshold : float
        The model's decision threshold, marked.
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.0), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    t = np.asarray(curves["threshold"], dtype=float)
    groups = [c[: -len("_classifier")] for c in curves.colnames if c.endswith("_classifier")]
    for ax, stage in zip(axes, ("classifier", "both"), strict=True):
        for group in groups:
            lsbg = group == "lsbg"
            ax.plot(
                t,
                np.asarray(curves[f"{group}_{stage}"], dtype=float),
                lw=2.2 if lsbg else 1.2,
                color="black" if lsbg else None,
                ls="--" if lsbg else "-",
                label="LSBG completeness" if lsbg else group,
            )
        ax.axvline(threshold, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("decision threshold")
        ax.set_title(_STAGE_TITLE[stage], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction passing")
    axes[1].legend(fontsize=7, ncol=2, loc="upper right")
    return _save(fig, out_png, title=title)
