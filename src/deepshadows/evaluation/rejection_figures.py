"""The figure of accuracy against the fraction of the most uncertain objects rejected."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows.evaluation.figure_style import _save

__all__ = ["plot_rejection"]


def plot_rejection(
    table: Sequence[Mapping[str, Any]], out_png: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Draw the accuracy of the kept objects against the fraction rejected as most uncertain.

    Parameters
    ----------
    table : sequence of mapping
        Rows of :func:`~deepshadows.evaluation.rejection.rejection_table` (``fraction``,
        ``accuracy``, ``kept``).
    out_png : path-like
        Output PNG file, written atomically.
    title : str, optional
        Figure title.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from matplotlib.figure import Figure

    fractions = [float(row["fraction"]) for row in table]
    accuracy = [float(row["accuracy"]) for row in table]
    fig = Figure(figsize=(5.4, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(fractions, accuracy, "o-", color="tab:orange", lw=1.8)
    if accuracy:
        ax.axhline(accuracy[0], color="0.55", ls="--", lw=1.0, label=f"nothing rejected: {accuracy[0]:.3f}")
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    for row in table:
        ax.annotate(
            f"{int(row['kept'])}",
            (float(row["fraction"]), float(row["accuracy"])),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=7,
            color="0.35",
        )
    ax.set_xlabel("fraction rejected (most uncertain first)")
    ax.set_ylabel("accuracy of the objects kept")
    ax.set_xlim(-0.02, max(fractions + [0.5]) + 0.02)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, out_png)
