"""The labelled sample that fine-tuning trains on: cutouts and their classes, from a store or a .npz.

:func:`load_labelled_sample` reads, in memory, the labelled cutouts of

* a store (``.h5``, ``.hdf5``, or any HDF5 file of the store's format): its labelled rows, or the
  rows that a label table names (by id, or by ``ra``/``dec`` within a match radius);
* a NumPy ``.npz`` of cutouts such as the real development set (``images``, ``label`` and
  per-row columns; see :mod:`deepshadows.data.npz`): its labelled rows, or the rows whose ids a
  label table names.

Label tables are read by :func:`deepshadows.data.label_tables.load_label_table`; their classes
replace those of the store or file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from deepshadows.data.label_matching import _match, store_positions
from deepshadows.data.label_tables import LabelTable, load_label_table
from deepshadows.data.npz import NPZ_SUFFIX, _identifiers, read_npz_columns
from deepshadows.errors import InputError
from deepshadows.store.reader import Store, open_store

__all__ = ["STORE_SUFFIXES", "LabelledSample", "load_labelled_sample"]

#: File name endings read as a store (case-insensitive); other HDF5 files are tried as stores too.
STORE_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5")
#: String columns of a store carried into :attr:`LabelledSample.groups`.
_STORE_GROUPS = ("split", "kind", "subclass")


@dataclass(frozen=True, eq=False)
class LabelledSample:
    """Labelled cutouts in memory, one row per object.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, C), uint8
        Cutouts, channels last, as kept in the store.
    labels : ndarray of shape (N,), int64
        1 = LSBG, 0 = artifact.
    ids : ndarray of shape (N,), str
        Identifier of each cutout.
    groups : dict of str to ndarray of shape (N,), str, optional
        Per-row string metadata by name (for a store ``split``, ``kind``, ``subclass``; for a
        ``.npz`` its string columns, such as ``selection`` and ``layer``); may be empty.
    source : str, optional
        Where the sample came from, for records and messages.

    Raises
    ------
    ValueError
        If the arrays do not have one row per object or the labels are not 0 or 1.
    """

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.ndim != 4 or self.images.dtype != np.uint8 or len(self.images) != n:
            raise ValueError(
                f"images must be uint8 of shape ({n}, H, W, C), got {self.images.dtype} {self.images.shape}"
            )
        if self.ids.shape != (n,) or any(v.shape != (n,) for v in self.groups.values()):
            raise ValueError(f"ids and every group must have shape ({n},)")
        if not np.isin(self.labels, (0, 1)).all():
            raise ValueError("labels must be 0 (artifact) or 1 (LSBG)")

    def __len__(self) -> int:
        return len(self.labels)


def load_labelled_sample(
    data: str | os.PathLike[str] | Store,
    labels: str | os.PathLike[str] | LabelTable | None = None,
    *,
    match_radius_arcsec: float | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
) -> LabelledSample:
    """Load labelled cutouts from a store or a ``.npz``, labelled by themselves or by a table.

    Parameters
    ----------
    data : path-like or Store
        A store (``.h5``, ``.hdf5``) or a ``.npz`` of cutouts (see the module docstring).
    labels : path-like or LabelTable, optional
        Label table (CSV, ECSV, FITS or the labelling page's file). None takes the labelled rows
        of ``data`` (label 1 = LSBG, 0 = artifact; -1 = unlabelled rows are left out), every
        split.
    match_radius_arcsec : float, optional
        Match the table's ``ra``/``dec`` to the positions of ``data`` within this radius instead
        of matching ids (see :func:`deepshadows.data.label_tables.match_labels`).
    id_column, label_column : str, optional
        Id and label columns of the table (found among the usual names by default).

    Returns
    -------
    LabelledSample
        Rows in the order of ``data`` without a table, in table order with one. A table's
        ``split`` column, when present, replaces the store's ``split`` in ``groups``.

    Raises
    ------
    deepshadows.errors.InputError
        If ``data`` is neither a store nor a ``.npz``, has no labelled rows, a table is invalid
        or names objects that ``data`` lacks, or the table options are given without a table.
    """
    if labels is None and (match_radius_arcsec, id_column, label_column) != (None, None, None):
        raise InputError("match radius, id column and label column apply to a label table; none was given")
    kind = "store" if isinstance(data, Store) else _kind(Path(data))
    if labels is None or isinstance(labels, LabelTable):
        table = labels
    else:
        table = load_label_table(labels, id_column=id_column, label_column=label_column)
    if isinstance(data, Store):
        return _from_store(data, table, match_radius_arcsec)
    if kind == "npz":
        return _from_npz(Path(data), table, match_radius_arcsec)
    with open_store(data) as store:
        return _from_store(store, table, match_radius_arcsec)


def _kind(path: Path) -> str:
    """Return ``"store"`` or ``"npz"`` for a data file, or raise naming what is accepted."""
    name = path.name.lower()
    if name.endswith(NPZ_SUFFIX):
        return "npz"
    if name.endswith(STORE_SUFFIXES) or (path.is_file() and h5py.is_hdf5(path)):
        return "store"
    what = "not found" if not path.exists() else "cannot load labelled cutouts from this file"
    raise InputError(
        f"{path}: {what}; give a store ({', '.join(STORE_SUFFIXES)}) or a {NPZ_SUFFIX} file of cutouts"
    )


def _from_store(store: Store, table: LabelTable | None, radius: float | None) -> LabelledSample:
    ids = store.ids
    columns = {"split": store.splits, "kind": store.kinds, "subclass": store.subclasses}
    columns |= _config_columns(store.config.get("columns"), len(store))
    if table is None:
        rows = np.flatnonzero(store.labels >= 0)
        if rows.size == 0:
            raise InputError(
                f"{store.path}: the store has no labelled rows (every label is -1); give a label table"
            )
        classes = (store.labels[rows] == 1).astype(np.int64)
        groups = _groups(columns, rows)
        source = f"{store.path} (labelled rows)"
    else:
        positions = store_positions(store) if radius is not None else None
        ra, dec = positions if positions is not None else (None, None)
        entries, rows = _match(table, ids, ra, dec, radius, str(store.path))
        classes = table.labels[entries]
        groups = _groups(columns, rows, table, entries)
        source = _table_source(store.path, table, radius)
    return _sample(store.read_images(rows), classes, ids[rows], groups, source)


def _config_columns(columns: object, n: int) -> dict[str, np.ndarray]:
    """Return the per-row string columns that an imported ``.npz`` left in the store's config."""
    if not isinstance(columns, Mapping):
        return {}
    out = {}
    for name, values in columns.items():
        if name in _STORE_GROUPS or not isinstance(values, list) or len(values) != n:
            continue
        if all(isinstance(v, str) for v in values):
            out[str(name)] = np.array(values, dtype=str)
    return out


def _from_npz(path: Path, table: LabelTable | None, radius: float | None) -> LabelledSample:
    columns = read_npz_columns(path)
    n = len(columns["images"])
    ids = np.array(_identifiers(path, columns, np.arange(n)), dtype=str)
    strings = {k: v for k, v in columns.items() if k != "images" and v.dtype.kind == "U"}
    if table is None:
        rows = np.flatnonzero(columns["label"] >= 0)
        if rows.size == 0:
            raise InputError(f"{path}: no labelled rows (field 'label' absent or every label -1)")
        classes = (columns["label"][rows] == 1).astype(np.int64)
        groups = _groups(strings, rows)
        source = f"{path} (labelled rows)"
    else:
        ra, dec = columns.get("ra"), columns.get("dec")
        if ra is None or dec is None or ra.dtype.kind not in "iuf" or dec.dtype.kind not in "iuf":
            ra = dec = None
        entries, rows = _match(table, ids, ra, dec, radius, str(path))
        classes = table.labels[entries]
        groups = _groups(strings, rows, table, entries)
        source = _table_source(path, table, radius)
    return _sample(columns["images"][rows], classes, ids[rows], groups, source)


def _groups(
    columns: Mapping[str, np.ndarray],
    rows: np.ndarray,
    table: LabelTable | None = None,
    entries: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Return the string columns at ``rows``; a table's ``split`` of its ``entries`` replaces theirs."""
    out = {name: np.asarray(values)[rows].astype(str) for name, values in columns.items()}
    if table is not None and table.splits is not None and entries is not None:
        out["split"] = np.asarray(table.splits, dtype=str)[entries]
    return out


def _table_source(path: Path, table: LabelTable, radius: float | None) -> str:
    how = "by id" if radius is None else f"by ra/dec within {radius:g} arcsec"
    return f"{path} with labels from {table.path} ({how})"


def _sample(
    images: np.ndarray, classes: np.ndarray, ids: np.ndarray, groups: dict[str, np.ndarray], source: str
) -> LabelledSample:
    if len(classes) == 0:
        raise InputError(f"{source}: no labelled object")
    return LabelledSample(
        images=np.ascontiguousarray(images),
        labels=np.asarray(classes, dtype=np.int64),
        ids=np.asarray(ids).astype(str),
        groups=groups,
        source=source,
    )
