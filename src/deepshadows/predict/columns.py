"""The columns of a prediction table: the dtype, unit and description written for each name.

The names themselves, and those of earlier versions, are in :mod:`deepshadows.prediction_schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepshadows.prediction_schema import is_uncalibrated

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []


@dataclass(frozen=True)
class Column:
    """One column of a prediction table: name, numpy dtype written, unit and description."""

    name: str
    dtype: np.dtype
    unit: str | None = None
    description: str = ""


def prediction_columns(header: Sequence[str], id_width: int) -> list[Column]:
    """Return the columns of the prediction CSV header: id, probabilities, label, uncertainty."""
    columns = []
    for name in header:
        if name == "id":
            columns.append(Column(name, np.dtype(f"U{max(1, id_width)}"), None, "cutout identifier"))
        elif name == "label":
            columns.append(
                Column(name, np.dtype(np.int16), None, "predicted class (1 = LSBG for binary models)")
            )
        elif name == "uncertainty":
            columns.append(Column(name, np.dtype(np.float32), None, "spread of the ensemble members"))
        elif is_uncalibrated(name):
            columns.append(
                Column(name, np.dtype(np.float32), None, "the model's own probability, before calibration")
            )
        else:
            columns.append(Column(name, np.dtype(np.float32), None, "probability the label is based on"))
    return columns
