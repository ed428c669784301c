"""Figures the report draws itself, in memory, where a folder holds the numbers but no image."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["finetune_history_png", "history_png", "probability_histogram_png"]

#: Resolution of the project's figures (:func:`deepshadows._io.save_png`), so all share one scale.
_DPI = 110


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, facecolor="white")
    return buf.getvalue()


def history_png(rows: Sequence[Mapping[str, Any]], *, best_epoch: int | None, title: str | None) -> bytes:
    """Draw the training history (Fig. 3) from the rows of ``history.csv``; return PNG bytes.

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per epoch with ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``
        and ``val_accuracy``.
    best_epoch : int or None
        Epoch to mark with a dotted line (the one whose weights were kept); None marks none.
    title : str or None
        Figure title; None draws none.

    Returns
    -------
    bytes
        The PNG image, drawn at 110 dpi.
    """
    from deepshadows.training.plots import plot_history

    return _png(plot_history(rows, best_epoch=best_epoch, title=title))


def finetune_history_png(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Draw loss and accuracy per fine-tuning epoch from ``finetune_history.csv``; return PNG bytes.

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per epoch with ``epoch``, ``accuracy`` and ``loss`` (training values).

    Returns
    -------
    bytes
        The PNG image (accuracy on the left, loss on the right), drawn at 110 dpi.
    """
    from matplotlib.figure import Figure

    epochs = [int(row["epoch"]) for row in rows]
    fig = Figure(figsize=(8.0, 3.0), layout="constrained")
    for ax, column in zip(fig.subplots(1, 2), ("accuracy", "loss"), strict=True):
        ax.plot(epochs, [float(row[column]) for row in rows], marker="o", ms=3)
        ax.set_xlabel("fine-tuning epoch")
        ax.set_ylabel(f"training {column}")
        ax.grid(alpha=0.3)
    return _png(fig)


def probability_histogram_png(prob: np.ndarray, *, xlabel: str, threshold: float | None) -> bytes:
    """Histogram predicted probabilities over [0, 1] (25 bins); return PNG bytes.

    Parameters
    ----------
    prob : ndarray of shape (N,)
        Probabilities in [0, 1].
    xlabel : str
        Label of the horizontal axis (what the probability is of).
    threshold : float or None
        Classification threshold to mark with a dashed line; None marks none.

    Returns
    -------
    bytes
        The PNG image, drawn at 110 dpi.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.hist(prob, bins=np.linspace(0.0, 1.0, 26), color="tab:blue", alpha=0.8)
    if threshold is not None:
        ax.axvline(threshold, color="0.3", ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.legend(frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("objects")
    ax.grid(alpha=0.3)
    return _png(fig)
