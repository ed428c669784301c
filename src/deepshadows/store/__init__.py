"""The HDF5 store of cutouts: its schema, reading, writing, checks, splits and merging.

One file holds a data set's cutouts with their labels, ids, splits, features and truth
(:mod:`.schema`). :func:`open_store` reads it (:mod:`.reader`, batches in :mod:`.batches`),
:class:`StoreWriter` writes it resumably and publishes it atomically (:mod:`.writer`, the
checks of each block in :mod:`.rows`), :mod:`.inspection` checks a file before it is read,
:mod:`.splits` draws the train/validation/test splits and :mod:`.merge` joins stores.
Everything above this package reads and writes data through it.
"""

from __future__ import annotations

from deepshadows.store.batches import iter_store_batches, read_rows, to_float
from deepshadows.store.merge import merge_stores
from deepshadows.store.reader import Store, open_store
from deepshadows.store.schema import FORMAT, KINDS, SCHEMA_VERSION, SPLITS, SUBCLASSES
from deepshadows.store.splits import SPLIT_NAMES, check_split_fractions, make_splits
from deepshadows.store.writer import StoreWriter

__all__ = [
    "FORMAT",
    "KINDS",
    "SCHEMA_VERSION",
    "SPLITS",
    "SPLIT_NAMES",
    "SUBCLASSES",
    "Store",
    "StoreWriter",
    "check_split_fractions",
    "iter_store_batches",
    "make_splits",
    "merge_stores",
    "open_store",
    "read_rows",
    "to_float",
]
