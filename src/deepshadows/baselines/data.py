"""The feature matrix of a store split: the 19 SourceExtractor-style columns, as floats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepshadows.data.store import Store
from deepshadows.errors import InputError
from deepshadows.features.measure import FEATURE_NAMES

__all__ = ["feature_matrix"]


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
