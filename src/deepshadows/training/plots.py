"""The training-history figure: accuracy and loss per epoch for training and validation (Fig. 3)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deepshadows._io import save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_history"]


def plot_history(
    history: Sequence[Mapping[str, Any]],
    out: str | os.PathLike[str] | None = None,
    *,
    best_epoch: int | None = None,
    title: str | None = None,
) -> Figure:
    """Draw accuracy and loss against epoch, for the training and validation sets.

    Parameters
    ----------
    history : sequence of mapping
        One mapping per epoch with ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``
        and ``val_accuracy`` (the rows of ``history.csv``).
    out : path-like, optional
        PNG file to write atomically.
    best_epoch : int, optional
        Epoch to mark with a dotted line (the one whose weights were kept).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (two panels, accuracy on the left and loss on the right).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [int(row["epoch"]) for row in history]
    # A bare Figure renders with the Agg canvas and leaves pyplot's backend and state alone.
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric, label in ((axes[0], "accuracy", "accuracy"), (axes[1], "loss", "loss")):
        for split, name, style in (("train", "training", "-"), ("val", "validation", "--")):
            values = [float(row[f"{split}_{metric}"]) for row in history]
            ax.plot(epochs, values, style, marker="o" if len(epochs) < 20 else None, ms=3, label=name)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="0.5", ls=":", lw=1, label=f"best epoch ({best_epoch})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    if epochs:
        for ax in axes:
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    if title:
        fig.suptitle(title)
    if out is not None:
        save_png(fig, out)
    return fig
