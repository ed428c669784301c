"""The column names of prediction tables, and the names earlier versions wrote.

One schema whatever the model: ``probability`` (binary) or ``prob_<class>`` (K classes) is the
value the ``label`` is based on, calibrated when a calibration is applied; only then do the
model's own probabilities follow, as ``probability_uncalibrated`` or ``prob_<class>_uncalibrated``.
Earlier versions wrote calibrated probabilities as ``calibrated_probability`` /
``calibrated_prob_<class>``, without the uncalibrated ones; :func:`read_as_current` and
:func:`legacy_header` let such tables be read for one more release. ``predict`` writes these
names and the report reads them; both take them from here.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "LEGACY_PREFIX",
    "UNCALIBRATED_SUFFIX",
    "is_probability",
    "is_uncalibrated",
    "legacy_header",
    "legacy_note",
    "prediction_header",
    "probability_names",
    "read_as_current",
]

#: Suffix of the model's own probabilities, written beside calibrated ones.
UNCALIBRATED_SUFFIX = "_uncalibrated"
#: Prefix of calibrated probability columns in tables written by earlier versions.
LEGACY_PREFIX = "calibrated_"


def probability_names(class_names: Sequence[object] | None) -> list[str]:
    """Return the names of the probability columns.

    Parameters
    ----------
    class_names : sequence or None
        The classes of a model of several classes; None for a binary model.

    Returns
    -------
    list of str
        ``["probability"]``, or ``prob_<class>`` for each class.
    """
    if class_names is None:
        return ["probability"]
    return [f"prob_{name}" for name in class_names]


def prediction_header(class_names: Sequence[object] | None, *, calibrated: bool) -> list[str]:
    """Return the header of a prediction table.

    Parameters
    ----------
    class_names : sequence or None
        As for :func:`probability_names`.
    calibrated : bool
        Whether a calibration is applied: the model's own probabilities then follow.

    Returns
    -------
    list of str
        ``id``, the probabilities, their uncalibrated values when calibrated, ``label``.
    """
    names = probability_names(class_names)
    raw = [name + UNCALIBRATED_SUFFIX for name in names] if calibrated else []
    return ["id", *names, *raw, "label"]


def is_probability(name: str) -> bool:
    """Tell whether a column holds probabilities.

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    bool
        True for ``probability`` and ``prob_<class>`` (and their uncalibrated values).
    """
    return name == "probability" or name.startswith("prob_")


def is_uncalibrated(name: str) -> bool:
    """Tell whether a column holds a model's own probabilities, written beside calibrated ones.

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    bool
        True for ``probability_uncalibrated`` and ``prob_<class>_uncalibrated``.
    """
    return name.endswith(UNCALIBRATED_SUFFIX)


def legacy_header(header: Sequence[str]) -> list[str] | None:
    """Return the header an earlier version wrote for the same table.

    Those versions wrote a calibrated probability under ``calibrated_<name>`` and no
    uncalibrated column; uncalibrated tables had today's names.

    Parameters
    ----------
    header : sequence of str
        Today's header (see :func:`prediction_header`).

    Returns
    -------
    list of str or None
        The earlier header, or None where it is the same as today's.
    """
    if not any(is_uncalibrated(name) for name in header):
        return None
    kept = [name for name in header if not is_uncalibrated(name)]
    return [LEGACY_PREFIX + name if is_probability(name) else name for name in kept]


def read_as_current(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Read column names of an earlier version's table as today's.

    Parameters
    ----------
    names : sequence of str
        A table's column names.

    Returns
    -------
    current : list of str
        The names, ``calibrated_probability`` / ``calibrated_prob_<class>`` read as
        ``probability`` / ``prob_<class>``.
    renamed : list of str
        The old names found.
    """
    current, renamed = [], []
    for name in names:
        bare = name.removeprefix(LEGACY_PREFIX)
        if bare != name and is_probability(bare):
            current.append(bare)
            renamed.append(name)
        else:
            current.append(name)
    return current, renamed


def legacy_note(path: object, names: Sequence[str]) -> str:
    """Return the note said when a table with an earlier version's column names is read.

    Parameters
    ----------
    path : object
        The table, as named in the note.
    names : sequence of str
        Its column names.

    Returns
    -------
    str
        ``note: <path> has column <old> (an earlier version's name), read as <new>``.
    """
    renamed = read_as_current(names)[1]
    old = ", ".join(renamed)
    new = ", ".join(name.removeprefix(LEGACY_PREFIX) for name in renamed)
    return f"note: {path} has column {old} (an earlier version's name), read as {new}"
