"""Data: the HDF5 store of cutouts and labels, train/validation/test splits, image import and merging."""

from __future__ import annotations

from deepshadows.data.importer import import_folder, import_images, read_image
from deepshadows.store.merge import merge_stores
from deepshadows.store.reader import (
    FORMAT,
    KINDS,
    SCHEMA_VERSION,
    SUBCLASSES,
    Store,
    StoreWriter,
    open_store,
    to_float,
)
from deepshadows.store.splits import SPLIT_NAMES, check_split_fractions, make_splits

__all__ = [
    "FORMAT",
    "KINDS",
    "SCHEMA_VERSION",
    "SPLIT_NAMES",
    "SUBCLASSES",
    "Store",
    "StoreWriter",
    "check_split_fractions",
    "import_folder",
    "import_images",
    "make_splits",
    "merge_stores",
    "open_store",
    "read_image",
    "to_float",
]
