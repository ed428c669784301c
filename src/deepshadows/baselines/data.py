"""The feature matrix of a store split: the 19 SourceExtractor-style columns, as floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepshadows.errors import InputError
from deepshadows.features.measure import FEATURE_NAMES, FLAG_MEASUREMENT_FAILED, FLAG_NO_DETECTION
from deepshadows.store.reader import Store

__all__ = ["UnmeasuredRow", "feature_matrix", "measured_feature_matrix"]


@dataclass(frozen=True)
class UnmeasuredRow:
    """A store row none of whose features could be measured.

    Parameters
    ----------
    row : int
        Row of the store, from 1.
    ident : str
        Identifier of the row.
    split : str
        Its split.
    reason : str
        Why (from its ``feature_flag``).
    """

    row: int
    ident: str
    split: str
    reason: str


def _unmeasured_reason(flag: int) -> str:
    if flag & FLAG_NO_DETECTION:
        return f"no source detected, no feature measured (feature_flag {flag})"
    if flag & FLAG_MEASUREMENT_FAILED:
        return f"feature measurement failed, no feature measured (feature_flag {flag})"
    return f"no finite feature value (feature_flag {flag})"


def feature_matrix(
    store: Store, split: str, *, columns: Sequence[str] = FEATURE_NAMES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the features, labels and row indices of a labelled split.

    Failed measurements are NaN (non-finite values are turned into NaN too); the pipelines
    impute them.

    Parameters
    ----------
    store : Store
        Open store with a ``features`` table.
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    columns : sequence of str, optional
        Feature columns, in order (the 19 of :data:`deepshadows.features.FEATURE_NAMES`).

    Returns
    -------
    features : ndarray of shape (n, len(columns)), float64
    labels : ndarray of shape (n,), int64
        1 = LSBG, 0 = artifact.
    rows : ndarray of shape (n,), int64
        Row indices in the store.

    Raises
    ------
    deepshadows.errors.InputError
        If the store has no features, lacks some of ``columns``, or the split is empty or has
        unlabelled rows.
    """
    table = store.features_table()
    missing = [name for name in columns if name not in table.colnames]
    if missing:
        raise InputError(
            f"{store.path}: the features table lacks column(s) {', '.join(missing)}; "
            f"it has {', '.join(table.colnames)}"
        )
    rows = store.indices(split)
    if rows.size == 0:
        raise InputError(f"{store.path}: split {split!r} is empty")
    labels = store.labels[rows].astype(np.int64)
    unlabelled = int(np.count_nonzero(labels < 0))
    if unlabelled:
        raise InputError(f"{store.path}: {unlabelled} rows of split {split!r} have no label")
    features = np.column_stack([np.asarray(table[name], dtype=np.float64)[rows] for name in columns])
    features[~np.isfinite(features)] = np.nan
    return features, labels, rows


def measured_feature_matrix(
    store: Store, split: str, *, columns: Sequence[str] = FEATURE_NAMES
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[UnmeasuredRow]]:
    """Return the features of the rows of a split that have any, and the rows that have none.

    A row none of whose features is finite (no source detected, or the measurement failed:
    see its ``feature_flag``) gives a classifier only imputed medians; rows with some failed
    features keep them as NaN.

    Parameters
    ----------
    store, split, columns
        As for :func:`feature_matrix`.

    Returns
    -------
    features, labels, rows
        As :func:`feature_matrix`, for the rows kept.
    unmeasured : list of UnmeasuredRow
        The rows without any measured feature, in store order, with their reasons.

    Raises
    ------
    deepshadows.errors.InputError
        As :func:`feature_matrix`.
    """
    features, labels, rows = feature_matrix(store, split, columns=columns)
    measured = np.isfinite(features).any(axis=1)
    if measured.all():
        return features, labels, rows, []
    flags = store.feature_flags[rows]
    ids = store.ids
    unmeasured = [
        UnmeasuredRow(int(r) + 1, str(ids[r]), split, _unmeasured_reason(int(f)))
        for r, f in zip(rows[~measured], flags[~measured], strict=True)
    ]
    return features[measured], labels[measured], rows[measured], unmeasured
