"""The HDF5 data store: cutouts, labels, ids, splits, features and truth in one file.

Schema version 1 (one file per data set):

``images``
    uint8, shape (N, H, W, 3), channels last as served by the viewer (H = W = 64 by default);
    chunked by up to 128 cutouts, gzip level 4 with the shuffle filter.
``label``
    int8: 1 = LSBG, 0 = artifact, -1 = unknown.
``kind``
    ``S5``: ``"lsbg"``, ``"type2"``, ``"type1"`` or ``""`` (unknown).
``subclass``
    ``S1``: artifact subclass ``"A"`` .. ``"F"``, ``""`` for LSBGs and unknown rows.
``id``
    UTF-8 bytes, fixed width (``S64`` unless the writer was given a larger ``id_width``);
    readers also accept variable-length strings.
``split``
    ``S5``: ``"train"``, ``"val"``, ``"test"`` or ``""`` (unassigned).
``features``, ``feature_flag``
    optional compound dataset of named float columns and its int16 flag.
``truth``
    optional compound dataset of the simulation's true parameters.

Root attributes: ``schema_version`` (1), ``format`` (``"deepshadows-store"``), ``config`` and
``provenance`` (JSON strings), ``n_total``, ``n_written``, ``complete``, ``split_fractions``
(JSON) and ``split_seed`` (-1 when the splits were not drawn from a seed).

Compound datasets are plain HDF5 tables, so ``astropy.table.Table.read(path, path="features")``
reads them without this package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from astropy.table import Table

from deepshadows._docs import fill_doc
from deepshadows._io import ClosingContext
from deepshadows.errors import InputError
from deepshadows.store.batches import iter_store_batches, read_rows, to_float
from deepshadows.store.inspection import inspect_store_file, summarize_store
from deepshadows.store.schema import _CACHE_BYTES, FORMAT, KINDS, SCHEMA_VERSION, SPLITS, SUBCLASSES
from deepshadows.store.schema import DEFAULT_ID_WIDTH as DEFAULT_ID_WIDTH  # re-exported
from deepshadows.store.writer import StoreWriter

__all__ = [
    "FORMAT",
    "KINDS",
    "SCHEMA_VERSION",
    "SUBCLASSES",
    "Store",
    "StoreWriter",
    "open_store",
    "to_float",
]


@fill_doc
class Store(ClosingContext):
    """Read-only access to a finished store.

    The file is checked when the object is made; the HDF5 handle itself is opened on first
    use in each process, and only the path travels when the object is pickled, so a ``Store``
    can be handed to DataLoader workers or Dask tasks.

    Parameters
    ----------
    %(store_path)s

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not HDF5, not a store of a supported schema version, or
        incomplete; the message names the file and the problem.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._handle: h5py.File | None = None
        self._pid: int | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._attrs, self._n, self._chunk_rows, self._datasets = inspect_store_file(self._path)

    # -- opening -----------------------------------------------------------------------------

    def _file(self) -> h5py.File:
        """Return this process's open handle, opening it on first use."""
        if self._handle is None or self._pid != os.getpid():
            # A handle inherited through fork is dropped, never shared between processes.
            self._handle = h5py.File(self._path, "r", rdcc_nbytes=_CACHE_BYTES)
            self._pid = os.getpid()
        return self._handle

    def close(self) -> None:
        """Close the HDF5 handle of this process (it is reopened on the next read)."""
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None
        self._pid = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self._path,
            "attrs": self._attrs,
            "n": self._n,
            "chunk_rows": self._chunk_rows,
            "datasets": self._datasets,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._path = state["path"]
        self._attrs = state["attrs"]
        self._n = state["n"]
        self._chunk_rows = state["chunk_rows"]
        self._datasets = state["datasets"]
        self._handle = None
        self._pid = None
        self._cache = {}

    def __repr__(self) -> str:
        return f"Store({str(self._path)!r}, n={self._n})"

    # -- metadata ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path

    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes as plain Python values (JSON mappings and lists decoded)."""
        return dict(self._attrs)

    @property
    def config(self) -> dict[str, Any]:
        """Configuration the store was made with (empty if none was recorded)."""
        config = self._attrs.get("config")
        return dict(config) if isinstance(config, dict) else {}

    @property
    def provenance(self) -> dict[str, Any]:
        """Versions, platform and time of creation."""
        prov = self._attrs.get("provenance")
        return dict(prov) if isinstance(prov, dict) else {}

    @property
    def split_seed(self) -> int | None:
        """Seed the splits were drawn with, or None when they were given."""
        seed = self._attrs.get("split_seed", -1)
        return None if seed is None or int(seed) < 0 else int(seed)

    @property
    def has_features(self) -> bool:
        """Whether the store holds a ``features`` table."""
        return "features" in self._datasets

    @property
    def has_truth(self) -> bool:
        """Whether the store holds a ``truth`` table."""
        return "truth" in self._datasets

    def __len__(self) -> int:
        return self._n

    def _column(self, name: str, convert: Any = None) -> np.ndarray:
        if name not in self._cache:
            values = self._file()[name][:]
            self._cache[name] = values if convert is None else convert(values)
        return self._cache[name].copy()

    @property
    def labels(self) -> np.ndarray:
        """Label per row (int8, shape (n,)): 1 = LSBG, 0 = artifact, -1 = unknown."""
        return self._column("label", lambda a: a.astype(np.int8))

    @property
    def kinds(self) -> np.ndarray:
        """Kind per row (str, shape (n,)): ``"lsbg"``, ``"type2"``, ``"type1"`` or ``""``."""
        return self._column("kind", lambda a: a.astype(str))

    @property
    def subclasses(self) -> np.ndarray:
        """Artifact subclass per row (str, shape (n,)): ``"A"`` .. ``"F"`` or ``""``."""
        return self._column("subclass", lambda a: a.astype(str))

    @property
    def ids(self) -> np.ndarray:
        """Cutout identifier per row (str, shape (n,))."""
        return self._column("id", lambda a: np.char.decode(a.astype(bytes), "utf-8"))

    @property
    def splits(self) -> np.ndarray:
        """Split per row (str, shape (n,)): ``"train"``, ``"val"``, ``"test"`` or ``""``."""
        return self._column("split", lambda a: a.astype(str))

    @property
    def feature_flags(self) -> np.ndarray:
        """Flag of the feature measurement per row (int16, shape (n,))."""
        self._require("feature_flag", "features")
        return self._column("feature_flag")

    def _require(self, name: str, what: str) -> None:
        if name not in self._datasets:
            raise InputError(f"{self._path}: store has no {what} (dataset '{name}' absent)")

    # -- rows --------------------------------------------------------------------------------

    def indices(self, split: str | None = None) -> np.ndarray:
        """Return the sorted row indices of a split.

        Parameters
        ----------
        split : {"train", "val", "test"} or None, optional
            Split name; None selects every row.

        Returns
        -------
        ndarray of shape (k,), int64
            Row indices in increasing order.

        Raises
        ------
        deepshadows.errors.InputError
            If the split name is unknown or the split has no rows.
        """
        if split is None:
            return np.arange(self._n, dtype=np.int64)
        if split not in SPLITS[:3]:
            raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS[:3])}")
        idx = np.flatnonzero(self._column("split", lambda a: a.astype(str)) == split)
        if idx.size == 0:
            raise InputError(f"{self._path}: store has no rows in split {split!r}")
        return idx.astype(np.int64)

    def _check_indices(self, indices: Any) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"indices must be a one-dimensional integer array, got {idx.dtype} {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"row indices must lie in [0, {self._n}), got [{idx.min()}, {idx.max()}]")
        return idx

    def read_images(self, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Read cutouts by row.

        Parameters
        ----------
        indices : array-like of int, optional
            Rows to read, in any order and with repeats; None reads every row.

        Returns
        -------
        ndarray of shape (k, H, W, C), uint8
            The cutouts in the requested order.
        """
        ds = self._file()["images"]
        if indices is None:
            return ds[:]
        idx = self._check_indices(indices)
        if idx.size == 0:
            return np.empty((0, *ds.shape[1:]), dtype=np.uint8)
        return read_rows(ds, idx)

    def _table(self, name: str, what: str) -> Table:
        self._require(name, what)
        return Table(self._file()[name][:])

    def features_table(self) -> Table:
        """Return the ``features`` columns as a table with one row per store row.

        Raises
        ------
        deepshadows.errors.InputError
            If the store has no features.
        """
        return self._table("features", "features")

    def truth_table(self) -> Table:
        """Return the simulation's ``truth`` columns as a table with one row per store row.

        Raises
        ------
        deepshadows.errors.InputError
            If the store has no truth table.
        """
        return self._table("truth", "truth table")

    def iter_batches(
        self,
        split: str | None = None,
        *,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int | None = None,
        buffer_rows: int = 4096,
        raw: bool = False,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Iterate over a split in batches of network input, reading chunk by chunk.

        Rows are read as whole HDF5 chunks, so memory holds at most about ``buffer_rows`` plus
        one chunk of cutouts whatever the size of the file. With ``shuffle`` the chunks are
        visited in random order and rows are shuffled within the in-memory buffer.

        Parameters
        ----------
        split : {"train", "val", "test"} or None, optional
            Split to iterate over; None for every row.
        batch_size : int, optional
            Rows per batch; the last batch may be smaller.
        shuffle : bool, optional
            Whether to shuffle the order of rows.
        seed : int or None, optional
            Seed of the shuffle; the same seed gives the same order.
        buffer_rows : int, optional
            Rows held in memory for shuffling (at least one batch is always held).
        raw : bool, optional
            Yield the cutouts as stored, uint8 of shape (B, H, W, C), instead of network input.

        Yields
        ------
        x : ndarray of shape (B, C, H, W), float32
            Cutouts scaled to [0, 1] (see :func:`to_float`); with ``raw``, uint8 (B, H, W, C).
        y : ndarray of shape (B,), int8
            Labels.
        idx : ndarray of shape (B,), int64
            Row indices.
        """
        yield from iter_store_batches(
            self, split, batch_size=batch_size, shuffle=shuffle, seed=seed, buffer_rows=buffer_rows, raw=raw
        )

    # -- overview ----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Return counts and metadata for a quick overview of the store.

        Returns
        -------
        dict
            ``path``, ``n``, ``schema_version``, ``survey`` (from the configuration, or None),
            ``config_keys``, ``image_shape``, ``has_features``, ``has_truth``,
            ``split_fractions``, ``split_seed``, ``labels`` (count per label), ``counts``
            (split -> kind -> count, with ``"unassigned"`` for rows without a split, ``"unknown"``
            for rows without a kind and a ``"total"`` per split) and ``subclasses`` (count per
            artifact subclass).
        """
        return summarize_store(self)


@fill_doc
def open_store(path: str | os.PathLike[str]) -> Store:
    """Open a finished store for reading.

    Parameters
    ----------
    %(store_path)s

    Returns
    -------
    Store
        The store.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not a store, of an unsupported schema or incomplete.
    """
    return Store(path)
