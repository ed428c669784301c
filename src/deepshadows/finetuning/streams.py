"""Where a fine-tuning's cutouts come from, step by step: labels, replayed simulations, the unlabelled sky.

Every draw of an epoch comes from generators seeded by ``(seed, epoch)``, so an epoch is the same
whether the run went straight through or was resumed before it.

* The labelled sample is passed over once per epoch in a fresh order, or, with class balance,
  drawn with replacement with weights that give both classes the same expected share.
* Replayed simulations (:func:`load_replay`) are drawn at random from the labelled rows of a
  simulated store's train split, read once into memory (at most ``max_rows`` of them).
* Unlabelled cutouts (:class:`UnlabelledPool`) come from an array or a store of any size: a
  store larger than the pool is read in contiguous blocks at random places, shuffled inside the
  pool and refilled when used up, so that a million cutouts are never all in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepshadows.errors import InputError
from deepshadows.store.reader import open_store

__all__ = ["UnlabelledPool", "labelled_order", "load_replay"]

_BLOCK = 512


def labelled_order(
    labels: np.ndarray, n_draws: int, rng: np.random.Generator, *, balance: bool
) -> np.ndarray:
    """Return the positions of the labelled cutouts one epoch uses, in order.

    Parameters
    ----------
    labels : ndarray of int
        Class of each labelled cutout.
    n_draws : int
        Cutouts wanted (a whole number of passes is repeated as needed without balance).
    rng : numpy.random.Generator
        The epoch's generator.
    balance : bool
        Draw with replacement, each class with the same expected share.

    Returns
    -------
    ndarray of int
    """
    n = labels.size
    if n == 0 or n_draws == 0:
        return np.empty(0, dtype=np.int64)
    if balance:
        classes, counts = np.unique(labels, return_counts=True)
        weight = 1.0 / counts[np.searchsorted(classes, labels)]
        return rng.choice(n, size=n_draws, replace=True, p=weight / weight.sum())
    passes = [rng.permutation(n) for _ in range(-(-n_draws // n))]
    return np.concatenate(passes)[:n_draws]


def load_replay(
    store_path: str | os.PathLike[str], *, max_rows: int = 20000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Read the simulated cutouts a fine-tuning replays: labelled rows of a store's train split.

    Parameters
    ----------
    store_path : path-like
        A labelled (simulated) store.
    max_rows : int, optional
        Most rows read (a random subset of a larger split).
    seed : int, optional
        Seed of that subset.

    Returns
    -------
    images : ndarray of shape (N, H, W, C), uint8
    labels : ndarray of shape (N,), int64
        1 = LSBG, 0 = artifact.

    Raises
    ------
    deepshadows.errors.InputError
        If the store has no labelled training rows of both classes.
    """
    with open_store(store_path) as store:
        labels = store.labels.astype(np.int64)
        splits = store.splits
        rows = np.flatnonzero((labels >= 0) & ((splits == "train") | (splits == "")))
        if rows.size > max_rows:
            rows = np.sort(np.random.default_rng([seed, 7]).choice(rows, size=max_rows, replace=False))
        binary = (labels[rows] == 1).astype(np.int64)
        if rows.size == 0 or binary.min() == binary.max():
            raise InputError(f"--replay: {store_path} has no labelled training rows of both classes")
        return store.read_images(rows), binary


class UnlabelledPool:
    """Endless random batches of unlabelled cutouts from an array or a store.

    Parameters
    ----------
    source : ndarray of shape (N, H, W, C) uint8, or path-like of a store
        The unlabelled cutouts (a store's every row, whatever its label).
    pool_size : int, optional
        Cutouts held in memory at a time; a store no larger is read whole.
    """

    def __init__(self, source: np.ndarray | str | os.PathLike[str], *, pool_size: int = 20000) -> None:
        self.path: Path | None = None
        self._images: np.ndarray | None = None
        if isinstance(source, np.ndarray):
            if source.ndim != 4 or source.dtype != np.uint8 or len(source) == 0:
                raise InputError("unlabelled cutouts: need a non-empty uint8 array (N, H, W, C)")
            self._images = source
            self.n_total = len(source)
        else:
            self.path = Path(source)
            with open_store(self.path) as store:
                self.n_total = len(store)
                if self.n_total == 0:
                    raise InputError(f"--unlabelled: {self.path} holds no cutouts")
                if self.n_total <= pool_size:
                    self._images = store.read_images()
        self.pool_size = int(pool_size)
        self._pool: np.ndarray | None = None
        self._cursor = 0

    def describe(self) -> str:
        """Say what the pool draws from."""
        where = "an array" if self.path is None else str(self.path)
        return f"{self.n_total} unlabelled cutouts from {where}"

    def _refill(self, rng: np.random.Generator) -> None:
        if self._images is not None:
            self._pool = self._images
        else:
            assert self.path is not None
            n_blocks = max(1, self.pool_size // _BLOCK)
            starts = np.sort(rng.choice(max(1, self.n_total - _BLOCK + 1), size=n_blocks, replace=False))
            rows = np.unique(np.concatenate([np.arange(s, min(s + _BLOCK, self.n_total)) for s in starts]))
            with open_store(self.path) as store:
                self._pool = store.read_images(rows)
        self._order = rng.permutation(len(self._pool))
        self._cursor = 0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Return up to ``n`` distinct cutouts drawn at random (all of them when fewer).

        Parameters
        ----------
        n : int
            Cutouts wanted.
        rng : numpy.random.Generator
            Generator of the draw.

        Returns
        -------
        ndarray of uint8
        """
        rows = np.sort(rng.choice(self.n_total, size=min(int(n), self.n_total), replace=False))
        if self._images is not None:
            return self._images[rows]
        assert self.path is not None
        with open_store(self.path) as store:
            return store.read_images(rows)

    def start_epoch(self, rng: np.random.Generator) -> None:
        """Begin an epoch's draws from the epoch's generator (reshuffled or refilled)."""
        self._rng = rng
        self._refill(rng)

    def next_batch(self, size: int) -> np.ndarray:
        """Return the next ``size`` unlabelled cutouts (uint8)."""
        out = []
        while size > 0:
            if self._cursor >= len(self._order):
                self._refill(self._rng)
            take = self._order[self._cursor : self._cursor + size]
            self._cursor += take.size
            size -= take.size
            out.append(self._pool[take])
        return out[0] if len(out) == 1 else np.concatenate(out)
