"""Stratified, seeded train/validation/test splits with exact overall sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from deepshadows.errors import InputError

__all__ = ["SPLIT_NAMES", "check_split_fractions", "make_splits"]

#: Split names in the order of the fractions.
SPLIT_NAMES: tuple[str, str, str] = ("train", "val", "test")


def check_split_fractions(fractions: Sequence[float] | str) -> tuple[float, float, float]:
    """Validate train/validation/test fractions.

    Parameters
    ----------
    fractions : sequence of float or str
        Three non-negative numbers summing to 1, or the same as a comma-separated string
        (``"0.75,0.125,0.125"``) as given on the command line.

    Returns
    -------
    tuple of float
        ``(train, val, test)``.

    Raises
    ------
    deepshadows.errors.InputError
        If there are not three finite non-negative numbers that sum to 1; the message names
        ``--split-fractions``.
    """
    given = fractions
    if isinstance(fractions, str):
        fractions = [part.strip() for part in fractions.split(",")]
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise InputError(
            f"--split-fractions: expected three numbers (train, val, test), got {given!r}"
        ) from None
    if len(values) != 3:
        raise InputError(f"--split-fractions: expected three numbers (train, val, test), got {len(values)}")
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"--split-fractions: fractions must be non-negative, got {values}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise InputError(f"--split-fractions: fractions must sum to 1, got {values} (sum {sum(values):g})")
    return values  # type: ignore[return-value]


def _largest_remainder(total: int, fractions: np.ndarray) -> np.ndarray:
    """Split the integer ``total`` into parts as close as possible to ``total * fractions``."""
    exact = total * fractions
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    # Stable sort: ties go to the earlier split (train before val before test).
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _allocate(
    sizes: np.ndarray, fractions: np.ndarray, targets: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Return per-stratum split counts whose rows sum to ``sizes`` and columns to ``targets``.

    Each stratum first gets the floor of its ideal share ``size * fraction``; the leftover
    units are then placed at most one per cell, and only in cells with a fractional part, so
    every count is within one of its ideal share. Such a rounding always exists (the fractional
    parts themselves are a feasible flow); the largest fractional parts are placed first, with a
    random tie-break, and augmenting paths place whatever that greedy pass leaves.
    """
    ideal = sizes[:, None] * fractions[None, :]
    counts = np.floor(ideal).astype(np.int64)
    frac = ideal - counts
    row_need = sizes - counts.sum(axis=1)
    col_need = targets - counts.sum(axis=0)
    added = np.zeros(counts.shape, dtype=bool)
    allowed = frac > 1e-12
    n_cols = fractions.size
    for cell in np.lexsort((rng.random(frac.size), -frac.ravel())):
        s, j = divmod(int(cell), n_cols)
        if allowed[s, j] and row_need[s] > 0 and col_need[j] > 0:
            added[s, j] = True
            row_need[s] -= 1
            col_need[j] -= 1
    while row_need.any():
        if not _augment(added, allowed, row_need, col_need):
            # Unreachable for consistent margins; keep the totals exact regardless.
            for s in np.flatnonzero(row_need):
                for j in np.flatnonzero(col_need):
                    take = min(row_need[s], col_need[j])
                    counts[s, j] += take
                    row_need[s] -= take
                    col_need[j] -= take
    return counts + added


def _augment(added: np.ndarray, allowed: np.ndarray, row_need: np.ndarray, col_need: np.ndarray) -> bool:
    """Place one more unit along an augmenting path of the unit-capacity bipartite flow."""
    n_rows, n_cols = added.shape
    parent_col = np.full(n_cols, -1)  # row from which each column was reached
    parent_row = np.full(n_rows, -1)  # column through which each row was reached (-1: source)
    seen_row = row_need > 0
    frontier = list(np.flatnonzero(seen_row))
    seen_col = np.zeros(n_cols, dtype=bool)
    while frontier:
        next_rows = []
        for s in frontier:
            for j in np.flatnonzero(allowed[s] & ~added[s] & ~seen_col):
                seen_col[j] = True
                parent_col[j] = s
                if col_need[j] > 0:
                    # Walk back, flipping the cells on the path.
                    row_need[_flip_path(added, parent_col, parent_row, j)] -= 1
                    col_need[j] -= 1
                    return True
                for r in np.flatnonzero(added[:, j] & ~seen_row):
                    seen_row[r] = True
                    parent_row[r] = j
                    next_rows.append(r)
        frontier = next_rows
    return False


def _flip_path(added: np.ndarray, parent_col: np.ndarray, parent_row: np.ndarray, j: int) -> int:
    """Apply an augmenting path ending at column ``j``; return the row where it starts."""
    while True:
        s = int(parent_col[j])
        added[s, j] = True
        prev = int(parent_row[s])
        if prev < 0:
            return s
        added[s, prev] = False
        j = prev


def make_splits(
    strata: np.ndarray,
    *,
    fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    seed: int,
) -> np.ndarray:
    """Assign every row to ``"train"``, ``"val"`` or ``"test"``, stratified and seeded.

    The overall split sizes are the integers closest to ``n * fractions`` (for 40,000 rows and
    the default fractions exactly 30,000 / 5,000 / 5,000), and the size of each split within
    each stratum is within one row of ``stratum size * fraction``.

    Parameters
    ----------
    strata : ndarray of shape (n,)
        Stratum of each row, any dtype that :func:`numpy.unique` sorts (for example the store's
        ``kind`` or ``label`` column).
    fractions : sequence of float or str, optional
        Train, validation and test fractions; see :func:`check_split_fractions`.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same inputs and seed give the same splits.

    Returns
    -------
    ndarray of shape (n,), dtype ``S5``
        ``b"train"``, ``b"val"`` or ``b"test"`` per row.

    Raises
    ------
    deepshadows.errors.InputError
        If the fractions are invalid.
    ValueError
        If ``strata`` is not one-dimensional.
    """
    fracs = np.asarray(check_split_fractions(fractions), dtype=np.float64)
    strata = np.asarray(strata)
    if strata.ndim != 1:
        raise ValueError(f"strata must be one-dimensional, got shape {strata.shape}")
    n = strata.size
    out = np.zeros(n, dtype="S5")
    if n == 0:
        return out
    rng = np.random.default_rng(seed)
    _, inverse = np.unique(strata, return_inverse=True)
    inverse = inverse.ravel()
    sizes = np.bincount(inverse)
    counts = _allocate(sizes, fracs, _largest_remainder(n, fracs), rng)
    names = np.array(SPLIT_NAMES, dtype="S5")
    for s, row_counts in enumerate(counts):
        members = rng.permutation(np.flatnonzero(inverse == s))
        out[members] = np.repeat(names, row_counts)
    return out
