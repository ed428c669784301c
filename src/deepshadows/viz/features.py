"""Histograms of the SourceExtractor-style features, LSBGs against artifacts."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import save_png
from deepshadows.errors import InputError
from deepshadows.viz.style import _clipped_hist

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["feature_distributions"]

#: Histogram colour per class.
_COLORS = {"LSBG": "tab:blue", "artifact": "tab:orange"}
_N_BINS = 30
_N_COLS = 5


def _is_lsbg(labels: np.ndarray) -> np.ndarray:
    """Return a boolean mask of the LSBG rows (label 1 / True, or the string ``"lsbg"``)."""
    if labels.dtype.kind in "USO":
        return np.char.lower(labels.astype(str)) == "lsbg"
    return labels.astype(np.float64) == 1


def _bins(values: np.ndarray) -> np.ndarray | None:
    """Return common bin edges over the 1st-99th percentiles of ``values`` (None if empty)."""
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [1, 99])
    if hi <= lo:
        pad = max(abs(lo) * 0.05, 0.5)
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, _N_BINS + 1)


@fill_doc
def feature_distributions(
    features: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray,
    out_png: str | os.PathLike[str],
    *,
    flags: np.ndarray | None = None,
) -> Path:
    """Overlay the per-feature distributions of LSBGs and artifacts, one panel per feature.

    Both classes share the bins of each panel, which span the 1st to 99th percentiles of the
    pooled finite values; values outside are piled into the edge bins so that sentinel values
    (e.g. a surface brightness of 30 for a non-positive flux) stay visible. Histograms are
    normalised to unit area so that classes of different size compare directly. NaN values are
    ignored; the figure title says how many rows had one.

    Parameters
    ----------
    features : ndarray of shape (N, F)
        Feature matrix, e.g. the 19 columns of the science specification (section 6.1).
    names : sequence of str, length F
        Column names, used as panel titles.
    labels : ndarray of shape (N,)
        1 (or True, or ``"lsbg"``) for an LSBG; any other value is an artifact.
    %(out_png)s
    flags : ndarray of shape (N,), optional
        Nonzero marks rows whose features are unreliable (for instance no central
        detection); they are left out of the histograms and counted in the title.

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If the shapes of ``features``, ``names``, ``labels`` and ``flags`` disagree.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or features.shape[1] != len(names):
        raise InputError(f"features: expected shape (N, {len(names)}) to match names, got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise InputError(f"labels: expected shape ({features.shape[0]},), got {labels.shape}")
    keep = np.ones(features.shape[0], dtype=bool)
    if flags is not None:
        flags = np.asarray(flags)
        if flags.shape != keep.shape:
            raise InputError(f"flags: expected shape ({features.shape[0]},), got {flags.shape}")
        keep = flags == 0
    classes = {"LSBG": _is_lsbg(labels) & keep, "artifact": ~_is_lsbg(labels) & keep}

    n_feat = len(names)
    n_cols = min(_N_COLS, max(n_feat, 1))
    n_rows = max(math.ceil(n_feat / n_cols), 1)
    # A bare Figure renders with the Agg canvas and leaves pyplot's backend and state alone.
    fig = Figure(figsize=(2.7 * n_cols, 2.1 * n_rows + 0.5), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for j, name in enumerate(names):
        _panel(axes[j], features[:, j], classes, str(name))
    for ax in axes[n_feat:]:
        ax.set_visible(False)
    fig.legend(
        handles=[
            Patch(color=_COLORS[cls], alpha=0.45, label=f"{cls} (n={int(mask.sum())})")
            for cls, mask in classes.items()
        ],
        loc="outside lower center",
        ncols=len(classes),
        fontsize=8,
    )
    n_nan = int((~np.isfinite(features[keep])).any(axis=1).sum())
    title = (
        f"{int(classes['LSBG'].sum())} LSBGs, {int(classes['artifact'].sum())} artifacts; "
        f"{n_nan} rows with NaN (ignored per feature)"
    )
    if flags is not None:
        title += f"; {int((~keep).sum())} flagged rows left out"
    fig.suptitle(title, fontsize=10)
    return save_png(fig, out_png)


def _panel(ax: Axes, column: np.ndarray, classes: dict[str, np.ndarray], name: str) -> None:
    """Draw the class histograms of one feature column."""
    finite = np.isfinite(column)
    pooled = column[finite & np.logical_or.reduce(list(classes.values()))]
    bins = _bins(pooled)
    n_nan = int((~finite & np.logical_or.reduce(list(classes.values()))).sum())
    ax.set_title(name + (f"  ({n_nan} NaN)" if n_nan else ""), fontsize=9)
    ax.tick_params(labelsize=7)
    ax.set_yticks([])
    if bins is None:
        ax.set_xticks([])
        ax.text(
            0.5,
            0.5,
            "no finite values",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="0.4",
        )
        return
    for cls, mask in classes.items():
        _clipped_hist(ax, column[mask & finite], bins, histtype="stepfilled", alpha=0.45, color=_COLORS[cls])
