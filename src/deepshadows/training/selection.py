"""Train on rows and targets other than the store's own split and labels.

The uncertainty studies retrain the same model on other splits of a store, on training sets with
flipped labels and on bootstrap resamples of the training set. None of them copies the images:
a :class:`RowSelection` names the rows of the training and validation sets (a training row may
appear several times) and, optionally, the target of every row, and :func:`deepshadows.training.fit`
trains on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RowSelection"]


def _as_rows(rows: Any, name: str) -> np.ndarray:
    arr = np.asarray(rows)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise ValueError(f"RowSelection.{name}: must be a non-empty one-dimensional integer array")
    return np.ascontiguousarray(arr, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class RowSelection:
    """The training and validation rows of a run, and optionally every row's target.

    Parameters
    ----------
    train : ndarray of int
        Store rows of the training set, in any order, repeats allowed (bootstrap resamples).
    val : ndarray of int
        Store rows of the validation set.
    targets : ndarray of int, optional
        Target of every row of the store (length: the store's rows), replacing the store's
        labels, e.g. with some training labels flipped. None keeps the store's.
    description : dict
        What the selection is (study, seed, noise level...), recorded with the run.
    """

    train: np.ndarray
    val: np.ndarray
    targets: np.ndarray | None = None
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "train", _as_rows(self.train, "train"))
        object.__setattr__(self, "val", _as_rows(self.val, "val"))
        if self.targets is not None:
            targets = np.asarray(self.targets)
            if targets.ndim != 1 or targets.dtype.kind not in "iu":
                raise ValueError("RowSelection.targets: must be a one-dimensional integer array")
            object.__setattr__(self, "targets", np.ascontiguousarray(targets, dtype=np.int64))

    def check(self, n_rows: int) -> None:
        """Raise ValueError unless every row lies in a store of ``n_rows`` rows."""
        for name in ("train", "val"):
            rows = getattr(self, name)
            if rows.min() < 0 or rows.max() >= n_rows:
                raise ValueError(
                    f"RowSelection.{name}: rows must lie in [0, {n_rows}), got [{rows.min()}, {rows.max()}]"
                )
        if self.targets is not None and self.targets.size != n_rows:
            raise ValueError(
                f"RowSelection.targets: needs one target per store row ({n_rows}), got {self.targets.size}"
            )

    def fingerprint(self) -> str:
        """Return a SHA-256 of the rows and targets (what a resumed run must find unchanged)."""
        digest = hashlib.sha256()
        for arr in (self.train, self.val):
            digest.update(np.int64(arr.size).tobytes())
            digest.update(arr.tobytes())
        if self.targets is not None:
            digest.update(b"targets")
            digest.update(self.targets.tobytes())
        return digest.hexdigest()
