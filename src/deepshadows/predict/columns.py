"""The columns of a prediction table: their names, and the dtype, unit and description written.

One schema whatever the model: ``probability`` (binary) or ``prob_<class>`` (K classes) is
the value the ``label`` is based on, calibrated when a calibration is applied. Only then do the
model's own probabilities follow, as ``probability_uncalibrated`` or
``prob_<class>_uncalibrated``. Earlier versions wrote calibrated probabilities under
``calibrated_probability`` / ``calibrated_prob_<class>`` instead, without the uncalibrated
ones; :func:`legacy_header` and :func:`read_as_current` let such tables be read for one more
release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

#: Suffix of the model's own probabilities, written beside calibrated ones.
UNCALIBRATED_SUFFIX = "_uncalibrated"
#: Prefix of calibrated probability columns in tables written by earlier versions.
LEGACY_PREFIX = "calibrated_"


@dataclass(frozen=True)
class Column:
    """One column of a prediction table: name, numpy dtype written, unit and description."""

    name: str
    dtype: np.dtype
    unit: str | None = None
    description: str = ""


def probability_names(class_names: Sequence[object] | None) -> list[str]:
    """Return the probability columns: ``probability`` (binary, None) or ``prob_<class>``."""
    if class_names is None:
        return ["probability"]
    return [f"prob_{name}" for name in class_names]


def prediction_header(class_names: Sequence[object] | None, *, calibrated: bool) -> list[str]:
    """Return the CSV header: id, probabilities, their uncalibrated values when calibrated, label."""
    names = probability_names(class_names)
    raw = [name + UNCALIBRATED_SUFFIX for name in names] if calibrated else []
    return ["id", *names, *raw, "label"]


def is_uncalibrated(name: str) -> bool:
    """Whether ``name`` is the column of a model's own probability beside a calibrated one."""
    return name.endswith(UNCALIBRATED_SUFFIX)


def legacy_header(header: Sequence[str]) -> list[str] | None:
    """Return the header earlier versions wrote for ``header``, or None where it is the same.

    Those versions wrote a calibrated probability under ``calibrated_<name>`` and no
    uncalibrated column; uncalibrated tables had today's names.
    """
    if not any(is_uncalibrated(name) for name in header):
        return None
    kept = [name for name in header if not is_uncalibrated(name)]
    return [LEGACY_PREFIX + name if _is_probability(name) else name for name in kept]


def read_as_current(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return column names with the old ``calibrated_`` names read as today's, and the renamed ones."""
    current, renamed = [], []
    for name in names:
        bare = name.removeprefix(LEGACY_PREFIX)
        if bare != name and _is_probability(bare):
            current.append(bare)
            renamed.append(name)
        else:
            current.append(name)
    return current, renamed


def legacy_note(path: object, names: Sequence[str]) -> str:
    """Return the one-line note said when a table with the old column names ``names`` is read."""
    renamed = read_as_current(names)[1]
    old = ", ".join(renamed)
    new = ", ".join(name.removeprefix(LEGACY_PREFIX) for name in renamed)
    return f"note: {path} has column {old} (an earlier version's name), read as {new}"


def _is_probability(name: str) -> bool:
    return name == "probability" or name.startswith("prob_")


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
