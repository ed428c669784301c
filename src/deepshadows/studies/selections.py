"""The training sets of the uncertainty studies: new splits, flipped labels, bootstrap resamples.

Each function returns a :class:`~deepshadows.training.RowSelection` (what to train and
validate on) and the rows of the test set to evaluate on, computed from the store and a seed
alone, so that a job on any machine rebuilds exactly the same selection.
"""

from __future__ import annotations

import numpy as np

from deepshadows.errors import InputError
from deepshadows.store.reader import Store
from deepshadows.store.splits import make_splits
from deepshadows.training.selection import RowSelection

__all__ = [
    "NOISE_MODES",
    "bootstrap_selection",
    "flip_labels",
    "noise_selection",
    "resplit_selection",
    "store_selection",
]

#: Ways of flipping labels: equal numbers of both classes, or one class only (paper Sec. 6.3).
NOISE_MODES: tuple[str, ...] = ("random", "artifacts-to-lsbg", "lsbg-to-artifacts")


def _labels(store: Store) -> np.ndarray:
    labels = store.labels.astype(np.int64)
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise InputError(
            f"{store.path}: the studies need a label (0 or 1) on every row; row {int(bad[0])} "
            f"and {bad.size - 1} other(s) have none"
        )
    return labels


def _seed_rng(*parts: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(p) for p in parts]))


def store_selection(store: Store) -> tuple[RowSelection, np.ndarray]:
    """Return the store's own split and labels (the baseline of every study).

    Parameters
    ----------
    store : Store
        Open store, labelled on every row.

    Returns
    -------
    selection : RowSelection
        The ``train`` and ``val`` rows.
    test_rows : ndarray of int
        The ``test`` rows.

    Raises
    ------
    deepshadows.errors.InputError
        If a row has no 0/1 label.
    """
    _labels(store)
    selection = RowSelection(store.indices("train"), store.indices("val"), description={"split": "store"})
    return selection, store.indices("test")


def resplit_selection(store: Store, seed: int) -> tuple[RowSelection, np.ndarray]:
    """Split the whole store anew with ``seed``, keeping the sizes of its train, val and test sets.

    The split is stratified by label and kind, as the simulator splits (paper Sec. 6.2: the
    same 30k / 5k / 5k sizes, other random assignments).

    Parameters
    ----------
    store : Store
        Open store, labelled on every row.
    seed : int
        Seed of the new split.

    Returns
    -------
    selection : RowSelection
    test_rows : ndarray of int
    """
    labels = _labels(store)
    splits = store.splits
    sizes = np.array([np.count_nonzero(splits == s) for s in ("train", "val", "test")], dtype=np.float64)
    if np.any(sizes == 0):
        raise InputError(f"{store.path}: needs rows in each of the train, val and test splits")
    strata = np.char.add(np.char.add(labels.astype(str), ":"), store.kinds.astype(str))
    new = make_splits(strata, fractions=tuple(sizes / sizes.sum()), seed=seed).astype(str)
    selection = RowSelection(
        np.flatnonzero(new == "train"),
        np.flatnonzero(new == "val"),
        description={"split": "resplit", "split_seed": int(seed)},
    )
    return selection, np.flatnonzero(new == "test")


def flip_labels(
    labels: np.ndarray, rows: np.ndarray, level: float, mode: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flip the labels of ``level`` times ``len(rows)`` of the given rows.

    Parameters
    ----------
    labels : ndarray of int
        0/1 label of every store row (not modified).
    rows : ndarray of int
        Rows eligible for flipping (the training set), without repeats.
    level : float
        Fraction of ``rows`` to flip, in [0, 1].
    mode : {"random", "artifacts-to-lsbg", "lsbg-to-artifacts"}
        ``random``: half the flips turn LSBGs into artifacts and half artifacts into LSBGs (the
        odd one an artifact); the others flip one class only.
    seed : int
        Seed of the choice of rows.

    Returns
    -------
    labels : ndarray of int
        A copy with the chosen labels flipped.
    flipped : ndarray of int
        The flipped rows, sorted.

    Raises
    ------
    deepshadows.errors.InputError
        If ``level`` or ``mode`` is invalid, or a class has fewer rows than it must give.
    """
    if mode not in NOISE_MODES:
        raise InputError(f"--targeted/mode: must be one of {', '.join(NOISE_MODES)}, got {mode!r}")
    if not 0.0 <= float(level) <= 1.0:
        raise InputError(f"--levels: each level must lie in [0, 1], got {level!r}")
    rows = np.asarray(rows, dtype=np.int64)
    n_flip = int(round(float(level) * rows.size))
    lsbg = rows[labels[rows] == 1]
    artifacts = rows[labels[rows] == 0]
    if mode == "random":
        wanted = {"lsbg": n_flip // 2, "artifact": n_flip - n_flip // 2}
    elif mode == "artifacts-to-lsbg":
        wanted = {"lsbg": 0, "artifact": n_flip}
    else:
        wanted = {"lsbg": n_flip, "artifact": 0}
    rng = _seed_rng(seed, int(round(float(level) * 1e6)), NOISE_MODES.index(mode))
    chosen = []
    for name, pool in (("lsbg", lsbg), ("artifact", artifacts)):
        if wanted[name] > pool.size:
            raise InputError(
                f"--levels: level {level:g} ({mode}) needs {wanted[name]} {name} labels to flip, "
                f"but the training set has only {pool.size}"
            )
        chosen.append(rng.choice(pool, size=wanted[name], replace=False))
    flipped = np.sort(np.concatenate(chosen))
    out = labels.astype(np.int64, copy=True)
    out[flipped] = 1 - out[flipped]
    return out, flipped


def noise_selection(store: Store, level: float, mode: str, seed: int) -> tuple[RowSelection, np.ndarray]:
    """Return the store's split with ``level`` of the training labels flipped (paper Sec. 6.3).

    Validation and test labels stay as they are: the model is selected and scored on clean
    labels, as in the paper, which flips labels of the training set only.

    Parameters
    ----------
    store : Store
        Open store, labelled on every row.
    level : float
        Fraction of the training rows whose label is flipped, in [0, 1].
    mode : {"random", "artifacts-to-lsbg", "lsbg-to-artifacts"}
        Which labels are flipped (see :func:`flip_labels`).
    seed : int
        Seed of the choice of rows (combined with ``level`` and ``mode``).

    Returns
    -------
    selection : RowSelection
        Its ``description`` holds the number of flips per direction.
    test_rows : ndarray of int
        The ``test`` rows (labels unchanged).
    """
    labels = _labels(store)
    train = store.indices("train")
    noisy, flipped = flip_labels(labels, train, level, mode, seed)
    description = {
        "split": "store",
        "noise_level": float(level),
        "noise_mode": mode,
        "noise_seed": int(seed),
        "flipped_lsbg_to_artifact": int(np.count_nonzero(labels[flipped] == 1)),
        "flipped_artifact_to_lsbg": int(np.count_nonzero(labels[flipped] == 0)),
    }
    selection = RowSelection(train, store.indices("val"), targets=noisy, description=description)
    return selection, store.indices("test")


def bootstrap_selection(store: Store, index: int, seed: int) -> tuple[RowSelection, np.ndarray]:
    """Return a bootstrap resample (with replacement, same size) of the store's training set.

    Parameters
    ----------
    store : Store
        Open store.
    index : int
        Number of the resample; resample ``index`` of ``seed`` is always the same.
    seed : int
        Seed of the study.

    Returns
    -------
    selection : RowSelection
    test_rows : ndarray of int
    """
    _labels(store)
    train = store.indices("train")
    picked = np.sort(_seed_rng(seed, index).choice(train, size=train.size, replace=True))
    description = {
        "split": "store",
        "bootstrap_index": int(index),
        "bootstrap_seed": int(seed),
        "distinct_rows": int(np.unique(picked).size),
    }
    return RowSelection(picked, store.indices("val"), description=description), store.indices("test")
