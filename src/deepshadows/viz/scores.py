"""Evaluation figures: ROC curves with bootstrap bands, confusion matrix, probability histograms.

The figures follow Fig. 4 (ROC curves of several models with their 95% bands; the
confusion matrix with counts and row-normalised fractions) and Fig. 5 (distribution of the
predicted probabilities per true class) of the paper. They are drawn on bare
:class:`matplotlib.figure.Figure` objects, so pyplot's backend and state are left alone. The
reliability diagram and the completeness-purity curve, which show how far the probabilities
can be trusted and what a decision threshold selects, live in
:mod:`deepshadows.viz.reliability` and are importable from here as well.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import check_int
from deepshadows.errors import InputError
from deepshadows.metrics.bootstrap import Interval
from deepshadows.metrics.checks import check_labels, check_prob
from deepshadows.viz.reliability import plot_completeness_purity, plot_reliability
from deepshadows.viz.style import _LEGEND, _REFERENCE_LINE, _frame, _save, _single_axes, _style

__all__ = [
    "plot_completeness_purity",
    "plot_confusion",
    "plot_probability_histogram",
    "plot_reliability",
    "plot_roc",
]

#: Histogram colours: LSBGs blue and artifacts red as in Fig. 5, further classes after.
_CLASS_COLORS = ("tab:red", "tab:orange", "tab:purple", "tab:green", "tab:brown", "tab:gray")


def _legend_label(name: str, auc: Interval | None) -> str:
    if auc is None or np.isnan(auc.value):
        return name
    if np.isnan(auc.low) or np.isnan(auc.high):
        return f"{name} (AUC {auc.value:.3f})"
    return f"{name} (AUC {auc.format(3)})"


@fill_doc
def plot_roc(
    curves: Mapping[str, Mapping[str, Any]],
    out_png: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Draw the ROC curves of several models on one figure, each with its bootstrap band.

    Parameters
    ----------
    curves : mapping of str to mapping
        Model name -> curve, as returned by
        :func:`~deepshadows.metrics.bootstrap.roc_band` or loaded from a ``roc.npz``:
        ``fpr`` and ``tpr`` arrays, optionally ``low`` and ``high`` (shaded band), ``auc``
        (an :class:`~deepshadows.metrics.bootstrap.Interval`, a ``value``/``low``/``high``
        mapping or a number) and ``level`` (confidence level, default 0.95). Models are drawn
        in the order given, the first as a solid orange line.
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If ``curves`` is empty or a curve lacks ``fpr``/``tpr`` or has mismatched lengths.
    """
    if not curves:
        raise InputError("curves: no ROC curve given")
    fig, ax = _single_axes((5.4, 5.0))
    ax.plot([0, 1], [0, 1], **_REFERENCE_LINE, label="random classifier")
    levels = set()
    for i, (name, curve) in enumerate(curves.items()):
        if "fpr" not in curve or "tpr" not in curve:
            raise InputError(f"curves[{name!r}]: needs 'fpr' and 'tpr' arrays")
        fpr = np.asarray(curve["fpr"], dtype=np.float64)
        tpr = np.asarray(curve["tpr"], dtype=np.float64)
        if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.size < 2:
            raise InputError(f"curves[{name!r}]: 'fpr' and 'tpr' must be 1-D arrays of equal length")
        color, style = _style(i)
        low, high = curve.get("low"), curve.get("high")
        if low is not None and high is not None:
            low = np.asarray(low, dtype=np.float64)
            high = np.asarray(high, dtype=np.float64)
            if low.shape != fpr.shape or high.shape != fpr.shape:
                raise InputError(f"curves[{name!r}]: 'low' and 'high' must match 'fpr' in length")
            ax.fill_between(fpr, low, high, color=color, alpha=0.22, lw=0)
            levels.add(float(curve.get("level", 0.95)))
        label = _legend_label(str(name), Interval.coerce(curve.get("auc")))
        ax.plot(fpr, tpr, color=color, ls=style, lw=1.8, label=label)
    ax.set_aspect("equal")
    _frame(ax, "false positive rate", "true positive rate (completeness)", xlim=(0, 1), ylim=(0, 1.01))
    legend_title = None
    if levels:
        legend_title = "shaded: " + ", ".join(f"{100 * v:g}%" for v in sorted(levels)) + " bootstrap band"
    ax.legend(loc="lower right", **_LEGEND, title=legend_title, title_fontsize=7)
    return _save(fig, out_png, title=title, ax=ax)


@fill_doc
def plot_confusion(
    matrix_normalized: Any,
    out_png: str | os.PathLike[str],
    *,
    class_names: Sequence[str],
    counts: Any = None,
    title: str | None = None,
) -> Path:
    """Draw a confusion matrix in the style of Fig. 4b.

    Cells are coloured by the normalised value; each shows the count (when given) with the
    normalised value in parentheses underneath.

    Parameters
    ----------
    matrix_normalized : array-like of shape (K, K)
        Row-normalised confusion matrix (true class in rows, predicted class in columns).
    %(out_png)s
    class_names : sequence of str, length K
        Class names in row/column order.
    counts : array-like of shape (K, K), optional
        Raw counts printed in the cells.
    %(title)s

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If the matrix is not square and finite, or the names or counts do not match it.
    """
    mat = np.asarray(matrix_normalized, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] < 2 or not np.isfinite(mat).all():
        raise InputError(f"matrix_normalized: expected a finite square (K, K) array, got shape {mat.shape}")
    k = mat.shape[0]
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise InputError(f"class_names: {len(names)} name(s) given for a {k} x {k} matrix")
    cnt = None
    if counts is not None:
        cnt = np.asarray(counts)
        if cnt.shape != mat.shape:
            raise InputError(f"counts: shape {cnt.shape} does not match the matrix {mat.shape}")
    side = 3.2 + 0.9 * k
    # Widen for long row labels (about 0.07 inch per character at 10 pt).
    extra_width = 0.07 * max(0, max(len(n) for n in names) - 8)
    fig, ax = _single_axes((side + 0.9 + extra_width, side))
    image = ax.imshow(mat, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    fig.colorbar(image, ax=ax, shrink=0.85, label="fraction of true class")
    fontsize = 12 if k <= 3 else 9
    for i in range(k):
        for j in range(k):
            text = f"{mat[i, j]:.3f}" if cnt is None else f"{int(cnt[i, j])}\n({mat[i, j]:.3f})"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if mat[i, j] > 0.55 else "black",
            )
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    return _save(fig, out_png, title=title, ax=ax)


def _class_color(name: str, index: int) -> str:
    if name.strip().lower() == "lsbg":
        return "tab:blue"
    return _CLASS_COLORS[index % len(_CLASS_COLORS)]


@fill_doc
def plot_probability_histogram(
    y_true: Any,
    prob: Any,
    out_png: str | os.PathLike[str],
    *,
    class_names: Sequence[str] = ("artifact", "LSBG"),
    xlabel: str | None = None,
    threshold: float | None = 0.5,
    bins: int = 25,
) -> Path:
    """Histogram the predicted probabilities separately for every true class (Fig. 5).

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, indices into ``class_names``.
    prob : array-like of shape (N,)
        The probability to histogram, e.g. of being an LSBG.
    %(out_png)s
    class_names : sequence of str, optional
        Name of each label; LSBGs are drawn in blue, artifacts in red.
    xlabel : str, optional
        Axis label; default ``"P(<last class name>)"`` for two classes, else
        ``"predicted probability"``.
    threshold : float or None, optional
        Decision threshold marked by a dashed line; None for none.
    bins : int, optional
        Number of equal bins over [0, 1].

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If the labels or probabilities are invalid or disagree in length.
    """
    names = [str(c) for c in class_names]
    if len(names) < 2:
        raise InputError(f"class_names: at least 2 names needed, got {names}")
    y = check_labels(y_true, "y_true", n_classes=len(names))
    p = check_prob(prob, "prob", n=y.size, ndim=1)
    check_int(bins, "bins")
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    fig, ax = _single_axes((6.0, 4.0))
    for j, name in enumerate(names):
        values = p[y == j]
        if values.size == 0:
            continue
        color = _class_color(name, j)
        ax.hist(values, bins=edges, color=color, alpha=0.35, label=f"true {name} (n={values.size})")
        ax.hist(values, bins=edges, color=color, histtype="step", lw=1.5)
    if threshold is not None:
        ax.axvline(float(threshold), color="0.3", ls="--", lw=1.0, label=f"threshold {float(threshold):g}")
    _frame(
        ax,
        xlabel or (f"P({names[-1]})" if len(names) == 2 else "predicted probability"),
        "number of objects",
        xlim=(0, 1),
    )
    ax.legend(fontsize=8, loc="upper center")
    return _save(fig, out_png)
