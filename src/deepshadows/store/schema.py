"""The store schema: its constants and the encoding of values into HDF5 datasets and attributes.

The layout itself is described in :mod:`deepshadows.store.reader`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from deepshadows import classes

__all__ = ["DEFAULT_ID_WIDTH", "FORMAT", "KINDS", "SCHEMA_VERSION", "SPLITS", "SUBCLASSES"]

#: Value of the root ``format`` attribute that marks a file as a store.
FORMAT = "deepshadows-store"
#: Schema version written by :class:`~deepshadows.store.writer.StoreWriter` and accepted by
#: :class:`~deepshadows.store.reader.Store`.
SCHEMA_VERSION = 1
DEFAULT_ID_WIDTH = 64
#: Allowed values of the ``kind`` column (``""`` = unknown).
KINDS: tuple[str, ...] = (*classes.KINDS, "")
#: Allowed values of the ``subclass`` column (``""`` = none or unknown).
SUBCLASSES: tuple[str, ...] = (*sorted(classes.SUBCLASS_NAMES), "")
#: Allowed values of the ``split`` column (``""`` = unassigned).
SPLITS: tuple[str, ...] = ("train", "val", "test", "")

_CHUNK_ROWS = 128
_CACHE_BYTES = 16 * 1024**2  # holds about ten 64 x 64 x 3 chunks of 128 cutouts


def _chunk_rows(n_total: int) -> int:
    """Rows per image chunk: 128, or fewer for small stores so that progress is kept in steps."""
    return max(1, min(_CHUNK_ROWS, -(-int(n_total) // 8)))


_RESERVED_ATTRS = frozenset({"schema_version", "format", "n_total", "n_written", "complete"})
_REQUIRED = ("images", "label", "kind", "subclass", "id", "split")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _encode_attr(value: Any) -> Any:
    """Return ``value`` in a form HDF5 attributes hold: mappings and sequences become JSON."""
    if isinstance(value, Mapping | list | tuple) or value is None:
        return json.dumps(value, sort_keys=True, default=_json_default)
    return value


def _decode_attr(value: Any) -> Any:
    """Return a root attribute as a plain Python value, decoding JSON mappings and lists."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str) and (value[:1] in ("{", "[") or value == "null"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _config_of(attrs: Mapping[str, Any]) -> Any:
    """Return the decoded ``config`` attribute (a JSON string or a mapping), or None."""
    value = attrs.get("config")
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.loads(json.dumps(value, sort_keys=True, default=_json_default))


def _check_compound(dtype: np.dtype | None, name: str) -> np.dtype | None:
    if dtype is None:
        return None
    dtype = np.dtype(dtype)
    if dtype.names is None:
        raise ValueError(f"{name} must be a structured dtype with named columns, got {dtype}")
    for field in dtype.names:
        if dtype[field].hasobject:
            raise ValueError(f"{name} column {field!r} has an object dtype; use fixed-size numbers or bytes")
    return dtype


def _layout(dtype: np.dtype | None) -> list[tuple[str, str]] | None:
    """Return the column names and types of a structured dtype, ignoring padding."""
    if dtype is None or dtype.names is None:
        return None
    return [(name, dtype[name].str) for name in dtype.names]


def _to_choice(values: Any, allowed: tuple[str, ...], width: int, key: str) -> np.ndarray:
    """Encode strings as fixed-length ASCII after checking them against ``allowed``."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = np.array([v.decode("ascii") if isinstance(v, bytes) else v for v in arr.tolist()], dtype=str)
    elif arr.dtype.kind == "S":
        arr = np.char.decode(arr, "ascii")
    elif arr.size and arr.dtype.kind != "U":
        raise ValueError(f"batch[{key!r}] must hold strings, got dtype {arr.dtype}")
    arr = arr.astype(str)
    bad = sorted(set(np.unique(arr).tolist()) - set(allowed))
    if bad:
        raise ValueError(f"batch[{key!r}] has invalid values {bad}; allowed: {list(allowed)}")
    return arr.astype(f"S{width}")
