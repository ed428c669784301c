"""Inspecting a store: the checks of a file before it is read, and the overview of its rows.

:func:`inspect_store_file` is what :class:`deepshadows.store.reader.Store` runs when it is made,
and :func:`summarize_store` is the body of :meth:`deepshadows.store.reader.Store.summary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from deepshadows._io import partial_path
from deepshadows.errors import InputError
from deepshadows.store.schema import _CHUNK_ROWS, _REQUIRED, FORMAT, SCHEMA_VERSION, SPLITS, _decode_attr

if TYPE_CHECKING:
    from deepshadows.store.reader import Store

__all__ = ["inspect_store_file", "summarize_store"]


def inspect_store_file(path: Path) -> tuple[dict[str, Any], int, int, frozenset[str]]:
    """Check that a file is a finished store this version reads, and read its metadata.

    Parameters
    ----------
    path : Path
        Store file.

    Returns
    -------
    attrs : dict
        Root attributes as plain Python values.
    n : int
        Number of rows (``n_total``).
    chunk_rows : int
        Rows per chunk of the ``images`` dataset.
    datasets : frozenset of str
        Names of the datasets in the file.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, a folder, not HDF5, unreadable, not a store, of another schema
        version, incomplete, or lacks a required dataset; the message names the file.
    """
    if not path.exists():
        hint = ""
        if partial_path(path).exists():
            hint = (
                f"; an incomplete {partial_path(path).name} exists, rerun the command "
                "with --resume to finish it"
            )
        raise InputError(f"{path}: store file not found{hint}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected an HDF5 store file")
    if not h5py.is_hdf5(path):
        raise InputError(f"{path}: not an HDF5 file (expected a {FORMAT} file)")
    try:
        with h5py.File(path, "r") as f:
            attrs = {key: _decode_attr(f.attrs[key]) for key in f.attrs}
            datasets = frozenset(f.keys())
            chunks = f["images"].chunks if "images" in f else None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the HDF5 file ({exc})") from exc
    fmt = attrs.get("format")
    if fmt != FORMAT:
        found = "no 'format' attribute" if fmt is None else f"format {fmt!r}"
        raise InputError(f"{path}: not a {FORMAT} file ({found})")
    version = attrs.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{path}: store schema version {version} is not supported "
            f"(this version of deepshadows reads {SCHEMA_VERSION})"
        )
    if not attrs.get("complete", False):
        raise InputError(
            f"{path}: incomplete store ({attrs.get('n_written')} of "
            f"{attrs.get('n_total')} rows written, not finalized)"
        )
    missing = [name for name in _REQUIRED if name not in datasets]
    if missing:
        raise InputError(f"{path}: store lacks dataset(s) {', '.join(missing)}")
    n = int(attrs.get("n_total", 0))
    return attrs, n, int(chunks[0]) if chunks else _CHUNK_ROWS, datasets


def summarize_store(store: Store) -> dict[str, Any]:
    """Return counts and metadata for a quick overview of a store.

    Parameters
    ----------
    store : Store
        Store to describe.

    Returns
    -------
    dict
        As described for :meth:`deepshadows.store.reader.Store.summary`.
    """
    kinds = np.where(store.kinds == "", "unknown", store.kinds)
    splits = np.where(store.splits == "", "unassigned", store.splits)
    counts: dict[str, dict[str, int]] = {}
    for name in [s for s in (*SPLITS[:3], "unassigned") if (splits == s).any()]:
        in_split = kinds[splits == name]
        values, n = np.unique(in_split, return_counts=True)
        counts[name] = {str(v): int(c) for v, c in zip(values, n, strict=True)}
        counts[name]["total"] = int(in_split.size)
    subclasses = store.subclasses
    sub_values, sub_n = np.unique(subclasses[subclasses != ""], return_counts=True)
    lab_values, lab_n = np.unique(store.labels, return_counts=True)
    config = store.config
    attrs = store._attrs
    return {
        "path": str(store.path),
        "n": len(store),
        "schema_version": attrs.get("schema_version"),
        "survey": config.get("survey", attrs.get("survey")),
        "config_keys": sorted(config),
        "image_shape": tuple(int(s) for s in store._file()["images"].shape[1:]),
        "has_features": store.has_features,
        "has_truth": store.has_truth,
        "split_fractions": attrs.get("split_fractions"),
        "split_seed": store.split_seed,
        "labels": {int(v): int(c) for v, c in zip(lab_values, lab_n, strict=True)},
        "counts": counts,
        "subclasses": {str(v): int(c) for v, c in zip(sub_values, sub_n, strict=True)},
    }
