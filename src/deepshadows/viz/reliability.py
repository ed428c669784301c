"""Figures of how far LSBG probabilities can be trusted and what a decision threshold selects.

The reliability diagram shows the fraction of LSBGs against the predicted probability, the
completeness-purity curve what every decision threshold keeps. Both are drawn on bare
:class:`matplotlib.figure.Figure` objects, so pyplot's backend and state are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_binary
from deepshadows.metrics.curves import completeness_purity_curve
from deepshadows.metrics.reliability import ECE_BINS, calibration_metrics, reliability_bins
from deepshadows.metrics.scores import binary_metrics
from deepshadows.viz.style import _LEGEND, _REFERENCE_LINE, _frame, _save, _single_axes, _style

__all__ = ["plot_completeness_purity", "plot_reliability", "plot_reliability_bins"]


@fill_doc
def plot_reliability(
    y_true: Any,
    probabilities: Mapping[str, Any],
    out_png: str | os.PathLike[str],
    *,
    n_bins: int = ECE_BINS,
    title: str | None = None,
) -> Path:
    """Draw a reliability diagram: the fraction of LSBGs against the predicted probability.

    For every set of probabilities the objects are grouped into ``n_bins`` equal-width bins
    (:func:`~deepshadows.metrics.scores.reliability_bins`); each non-empty bin is a point at
    its mean probability and its fraction of LSBGs, so a calibrated model lies on the
    diagonal. The legend gives each set's expected calibration error; a lower panel shows how
    many objects fall in each bin.

    Parameters
    ----------
    %(y_true)s
    probabilities : mapping of str to array-like of shape (N,)
        Name -> probabilities of being an LSBG of the same objects (e.g. ``{"calibrated": p,
        "uncalibrated": q}``); drawn in the order given, the first most prominently.
    n_bins : int, optional
        Number of probability bins.
    out_png, title
        As for :func:`plot_reliability_bins`.

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If ``probabilities`` is empty, or labels and probabilities are invalid or disagree in
        length.
    """
    if not probabilities:
        raise InputError("probabilities: no probabilities given")
    curves = {}
    for name, prob in probabilities.items():
        y, p = check_binary(y_true, prob)
        bins = reliability_bins(y, p, n_bins=n_bins)
        curves[name] = bins | {"ece": calibration_metrics(y, p, n_bins=n_bins)["ece"]}
    return plot_reliability_bins(curves, out_png, title=title)


@fill_doc
def plot_reliability_bins(
    curves: Mapping[str, Mapping[str, Any]],
    out_png: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Draw a reliability diagram from binned probabilities, one curve per entry.

    The drawing of :func:`plot_reliability`, for bins computed beforehand: those an evaluation
    stores in its ``metrics.json`` (``reliability``), so that models evaluated apart can share
    one diagram.

    Parameters
    ----------
    curves : mapping of str to mapping
        Name -> the bins of :func:`~deepshadows.metrics.reliability.reliability_bins`
        (``count``, ``mean_prob`` and ``fraction_positive`` per bin, ``None`` or ``nan`` in
        empty bins; ``edges`` optional, equal-width bins over [0, 1] by default) and optionally
        ``ece``, shown in the legend. Drawn in the order given, the first most prominently.
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If ``curves`` is empty or a curve's arrays disagree in length.
    """
    from matplotlib.figure import Figure

    if not curves:
        raise InputError("curves: no reliability bins given")
    fig = Figure(figsize=(5.4, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], **_REFERENCE_LINE, label="perfectly calibrated")
    n_bins = 0
    for i, (name, bins) in enumerate(curves.items()):
        count = np.asarray(bins["count"], dtype=np.float64)
        mean_prob = np.asarray(bins["mean_prob"], dtype=np.float64)
        fraction = np.asarray(bins["fraction_positive"], dtype=np.float64)
        if not count.size == mean_prob.size == fraction.size:
            raise InputError(f"curves[{name!r}]: count, mean_prob and fraction_positive differ in length")
        n_bins = max(n_bins, count.size)
        edges = np.asarray(bins.get("edges", np.linspace(0.0, 1.0, count.size + 1)), dtype=np.float64)
        color, style = _style(i)
        filled = count > 0
        ece = bins.get("ece")
        top.plot(
            mean_prob[filled],
            fraction[filled],
            color=color,
            ls=style,
            marker="o",
            ms=4,
            lw=1.6 if i == 0 else 1.2,
            label=name if ece is None else f"{name} (ECE {float(ece):.3f})",
        )
        bottom.stairs(count, edges, color=color, ls=style, lw=1.2)
    _frame(top, None, "fraction of LSBGs", xlim=(0, 1), ylim=(0, 1.01))
    top.legend(loc="upper left", **_LEGEND)
    bottom.set_yscale("symlog", linthresh=1)
    _frame(bottom, f"predicted LSBG probability ({n_bins} bins)", "objects")
    return _save(fig, out_png, title=title, ax=top)


@fill_doc
def plot_completeness_purity(
    y_true: Any,
    prob: Any,
    out_png: str | os.PathLike[str],
    *,
    threshold: float | None = 0.5,
    operating_point: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Draw purity against completeness over every decision threshold.

    The curve comes from :func:`~deepshadows.metrics.scores.completeness_purity_curve`.
    The point of the decision ``threshold`` on these objects is marked with a filled circle;
    an operating point chosen beforehand (on the validation split) adds a hollow square at
    the completeness and purity it promised and a dotted line at its target.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact; at least one LSBG.
    %(prob)s
    %(out_png)s
    threshold : float or None, optional
        Decision threshold to mark; None marks none.
    operating_point : mapping, optional
        The chosen operating point as
        :meth:`deepshadows.calibration.OperatingPoint.to_dict` gives it: ``threshold``,
        ``target`` (``"purity"`` or ``"completeness"``), ``target_value`` and the
        ``completeness`` and ``purity`` expected from the validation split.
    %(title)s

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If the labels, probabilities or threshold are invalid, or no object is an LSBG.
    """
    y, p = check_binary(y_true, prob)
    curve = completeness_purity_curve(y, p)
    fig, ax = _single_axes((5.4, 5.0))
    ax.plot(curve["completeness"], curve["purity"], color="tab:orange", lw=1.8, drawstyle="steps-post")
    ax.axhline(float(y.mean()), **_REFERENCE_LINE, label=f"LSBG fraction {y.mean():.3f}")
    if threshold is not None:
        at = binary_metrics(y, p, threshold=threshold)
        completeness, purity = at["completeness"], at["purity"]
        ax.plot(
            [completeness],
            [purity],
            "o",
            color="tab:blue",
            ms=7,
            label=f"threshold {float(threshold):.3g}: completeness {completeness:.3f}, purity {purity:.3f}",
        )
    if operating_point is not None:
        target = str(operating_point.get("target"))
        value = float(operating_point.get("target_value"))
        (ax.axhline if target == "purity" else ax.axvline)(value, color="tab:green", ls=":", lw=1.2)
        ax.plot(
            [float(operating_point.get("completeness"))],
            [float(operating_point.get("purity"))],
            "s",
            mfc="none",
            mec="tab:green",
            ms=9,
            mew=1.6,
            label=f"target {target} >= {value:g}: expected from validation",
        )
    _frame(
        ax,
        "completeness (fraction of LSBGs kept)",
        "purity (fraction of kept objects that are LSBGs)",
        xlim=(0, 1.01),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower left", **(_LEGEND | {"fontsize": 7}))
    return _save(fig, out_png, title=title, ax=ax)
