"""Shared look of the evaluation figures: line styles of successive curves, resolution, saving."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from deepshadows._io import save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Shared by the modules of this package; not part of the public API.
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


def _save(fig: Figure, out_png: str | os.PathLike[str]) -> Path:
    return save_png(fig, out_png, dpi=_DPI)
