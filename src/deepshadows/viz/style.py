"""Shared look of the project's figures: line styles of successive curves, histograms, saving."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import save_png

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Shared by the figure modules of the project; not part of the public API.
__all__: list[str] = []

_DPI = 110
#: Line styles of successive models on the ROC figure (the paper's CNN / SVM / RF look first).
_STYLES = (
    ("tab:orange", "-"),
    ("tab:blue", "--"),
    ("tab:red", "-."),
    ("tab:green", ":"),
    ("tab:purple", "-"),
    ("tab:brown", "--"),
    ("tab:pink", "-."),
    ("tab:gray", ":"),
    ("tab:olive", "-"),
    ("tab:cyan", "--"),
)
#: Look of a reference line: the chance diagonal, the perfectly calibrated one, a baseline level.
_REFERENCE_LINE: dict[str, Any] = {"ls": "--", "color": "0.55", "lw": 1.0}
#: Look of a legend drawn over the data: small print on a nearly opaque box.
_LEGEND: dict[str, Any] = {"fontsize": 8, "framealpha": 0.9}


def _style(index: int) -> tuple[str, str]:
    """Return the colour and line style of the ``index``-th curve, cycling through ``_STYLES``."""
    return _STYLES[index % len(_STYLES)]


def _single_axes(figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return a bare figure with constrained layout, ``figsize`` inches, and its one axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def _frame(
    ax: Axes,
    xlabel: str | None,
    ylabel: str,
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Label the axes (no x label where None), set the limits given and draw the light grid."""
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _clipped_hist(ax: Axes, values: np.ndarray, bins: np.ndarray, **style: Any) -> None:
    """Draw a density histogram of ``values`` over ``bins``; nothing when ``values`` is empty.

    Values outside the bins are piled into the edge bins, not dropped, so that outliers and
    sentinel values stay visible. ``style`` goes to ``Axes.hist`` (histtype, colour, label...).
    """
    if values.size:
        ax.hist(np.clip(values, bins[0], bins[-1]), bins=bins, density=True, **style)


@fill_doc
def _save(
    fig: Figure, out_png: str | os.PathLike[str], *, title: str | None = None, ax: Axes | None = None
) -> Path:
    """Give the figure its title, if any, and write it as a PNG atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write.
    %(out_png)s
    title : str, optional
        Title: of ``ax`` (10 pt) where that is given, else of the whole figure (11 pt).
    ax : matplotlib.axes.Axes, optional
        The axes of a one-panel figure, which carries the title.

    Returns
    -------
    %(written_png)s
    """
    if title:
        if ax is not None:
            ax.set_title(title, fontsize=10)
        else:
            fig.suptitle(title, fontsize=11)
    return save_png(fig, out_png, dpi=_DPI)
