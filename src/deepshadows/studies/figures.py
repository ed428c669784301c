"""Figures of the studies: ROC curves over the baseline (Fig. 8), TPR ratios (Fig. 9), intervals."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import save_png

__all__ = ["plot_interval_comparison", "plot_study_roc", "plot_tpr_ratio"]

_BASELINE_COLOR = "tab:orange"


def _figure(width: float = 6.0, height: float = 5.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_study_roc(
    curves: Mapping[str, Mapping[str, Any]],
    baseline: str,
    out_png: str | os.PathLike[str],
    *,
    title: str,
    graded: bool = False,
) -> Path:
    """Draw the ROC curve of every run over the baseline's (orange, with its bootstrap band).

    Parameters
    ----------
    curves : mapping of str to mapping
        Run label -> ``fpr``, ``tpr`` (and for the baseline optionally ``low``/``high``, ``auc``),
        as :func:`deepshadows.evaluation.load_roc` returns.
    baseline : str
        Label of the baseline run among ``curves``.
    out_png : path-like
        Output PNG.
    title : str
        Figure title.
    graded : bool, optional
        Colour the other runs along a sequential colour map in their order (noise levels);
        otherwise all blue (split seeds, bootstrap resamples), as in the paper's Fig. 8.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    fig = _figure()
    ax = fig.add_subplot()
    others = [name for name in curves if name != baseline]
    if graded:
        from matplotlib import colormaps

        colors = colormaps["viridis"](np.linspace(0.0, 0.85, max(len(others), 1)))
    else:
        colors = ["tab:blue"] * len(others)
    for name, color in zip(others, colors, strict=True):
        curve = curves[name]
        ax.plot(curve["fpr"], curve["tpr"], color=color, lw=1.0, alpha=0.85, label=name if graded else None)
    if not graded and others:
        ax.plot([], [], color="tab:blue", lw=1.0, label=f"other runs ({len(others)})")
    base = curves[baseline]
    if base.get("low") is not None and base.get("high") is not None:
        ax.fill_between(base["fpr"], base["low"], base["high"], color=_BASELINE_COLOR, alpha=0.2, lw=0)
    ax.plot(base["fpr"], base["tpr"], color=_BASELINE_COLOR, lw=2.0, label=baseline)
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":")
    ax.set(
        xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate", title=title
    )
    ax.legend(loc="lower right", fontsize="small")
    return save_png(fig, out_png)


def plot_tpr_ratio(
    curves: Mapping[str, Mapping[str, Any]],
    baseline: str,
    out_png: str | os.PathLike[str],
    *,
    title: str,
    fpr_max: float = 0.5,
) -> Path:
    """Plot each run's true-positive rate divided by the baseline's against false-positive rate.

    The paper's Fig. 9: curves are compared on the baseline's false-positive-rate grid up to
    ``fpr_max`` (beyond it every ratio tends to one); a dashed line marks a ratio of one.

    Parameters
    ----------
    curves : mapping of str to mapping
        Run label -> ``fpr``, ``tpr`` (as :func:`deepshadows.evaluation.load_roc` returns),
        the baseline's included.
    baseline : str
        Label of the baseline run among ``curves``; its false-positive rates form the grid.
    out_png : path-like
        Output PNG.
    title : str
        Figure title.
    fpr_max : float, optional
        Largest false-positive rate shown.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    base = curves[baseline]
    grid = np.asarray(base["fpr"], dtype=np.float64)
    keep = (grid > 0) & (grid <= fpr_max)
    grid = grid[keep]
    base_tpr = np.asarray(base["tpr"], dtype=np.float64)[keep]
    fig = _figure(6.5, 4.5)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    others = [name for name in curves if name != baseline]
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, max(len(others), 1)))
    for name, color in zip(others, colors, strict=True):
        tpr = np.interp(grid, curves[name]["fpr"], curves[name]["tpr"])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(base_tpr > 0, tpr / base_tpr, np.nan)
        ax.plot(grid, ratio, color=color, lw=1.3, label=name)
    ax.axhline(1.0, color=_BASELINE_COLOR, ls="--", lw=1.2, label=f"{baseline} (ratio 1)")
    ax.set(xlim=(0, fpr_max), xlabel="false positive rate", ylabel=f"TPR / TPR({baseline})", title=title)
    ax.legend(fontsize="small")
    return save_png(fig, out_png)


def plot_interval_comparison(
    rows: Sequence[Mapping[str, Any]], out_png: str | os.PathLike[str], *, title: str
) -> Path:
    """Draw, per metric, the test-set interval beside the training (model) interval.

    Parameters
    ----------
    rows : sequence of mapping
        One per metric: ``metric``, ``value`` (baseline), ``test_low``, ``test_high``,
        ``train_low``, ``train_high``, ``train_median``.
    out_png : path-like
        Output PNG.
    title : str
        Figure title.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    y = np.arange(len(rows), dtype=np.float64)
    for i, row in enumerate(rows):
        ax.errorbar(
            row["value"],
            y[i] + 0.12,
            xerr=[[row["value"] - row["test_low"]], [row["test_high"] - row["value"]]],
            fmt="o",
            color=_BASELINE_COLOR,
            capsize=3,
            label="test-set bootstrap (baseline run)" if i == 0 else None,
        )
        ax.errorbar(
            row["train_median"],
            y[i] - 0.12,
            xerr=[[row["train_median"] - row["train_low"]], [row["train_high"] - row["train_median"]]],
            fmt="s",
            color="tab:blue",
            capsize=3,
            label="training-set bootstrap (retrained models)" if i == 0 else None,
        )
    ax.set_yticks(y, [row["metric"] for row in rows])
    ax.invert_yaxis()
    ax.set(xlabel="value (95 % interval)", title=title)
    ax.legend(fontsize="small", loc="best")
    return save_png(fig, out_png)
