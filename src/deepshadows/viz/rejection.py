"""The figure of accuracy against the fraction of the most uncertain objects rejected."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.viz.style import _LEGEND, _REFERENCE_LINE, _frame, _save, _single_axes, _style

__all__ = ["plot_rejection", "plot_rejection_curves"]


@fill_doc
def plot_rejection(
    table: Sequence[Mapping[str, Any]], out_png: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Draw the accuracy of the kept objects against the fraction rejected as most uncertain.

    Parameters
    ----------
    table : sequence of mapping
        Rows of :func:`~deepshadows.metrics.rejection.rejection_table` (``fraction``,
        ``accuracy``, ``kept``).
    out_png, title
        As for :func:`plot_rejection_curves`.

    Returns
    -------
    %(written_png)s
    """
    return plot_rejection_curves({"": table}, out_png, title=title)


@fill_doc
def plot_rejection_curves(
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    out_png: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Draw the accuracy against the fraction rejected for one or several models.

    One curve per model, in the order given and in the styles of the ROC figure. A single
    model also gets the number of objects kept at each point and a dashed line at its accuracy
    with nothing rejected.

    Parameters
    ----------
    tables : mapping of str to sequence of mapping
        Model name (the legend; ``""`` for none) -> rows of
        :func:`~deepshadows.metrics.rejection.rejection_table` (``fraction``, ``accuracy``,
        ``kept``).
    %(out_png)s
    %(title)s

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If ``tables`` is empty.
    """
    if not tables:
        raise InputError("tables: no rejection table given")
    fig, ax = _single_axes((5.4, 4.2))
    single = len(tables) == 1
    largest = 0.5
    for i, (name, table) in enumerate(tables.items()):
        fractions = [float(row["fraction"]) for row in table]
        accuracy = [float(row["accuracy"]) for row in table]
        largest = max([largest, *fractions])
        color, style = _style(i)
        ax.plot(fractions, accuracy, marker="o", color=color, ls=style, lw=1.8, label=name or None)
        if single and accuracy:
            label = f"nothing rejected: {accuracy[0]:.3f}"
            ax.axhline(accuracy[0], **_REFERENCE_LINE, label=label)
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
    if ax.get_legend_handles_labels()[1]:
        ax.legend(loc="lower right", **_LEGEND)
    _frame(
        ax,
        "fraction rejected (most uncertain first)",
        "accuracy of the objects kept",
        xlim=(-0.02, largest + 0.02),
    )
    return _save(fig, out_png, title=title, ax=ax)
