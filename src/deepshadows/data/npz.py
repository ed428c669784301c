"""Build a store from a NumPy ``.npz`` file of cutouts, such as a set of real labelled cutouts.

The file holds ``images``, uint8 of shape (N, H, W, 3) with H = W, channels last as served by
the viewer, and optionally ``label`` (N,) integers (1 = LSBG, 0 = artifact, -1 = unknown) and
any number of per-row columns of shape (N,), strings or numbers. Every row goes to the
``test`` split: such sets are for evaluation and comparison, not for training. The per-row
columns are kept in the store's ``config`` attribute (``columns``), and rows can be selected
on them before import (``select``, e.g. ``{"selection": "random"}``).

Identifiers come from the ``id`` column, else from a unique ``source`` column, else they are
``<file stem>-<row>``. Optional ``kind`` and ``subclass`` columns fill the store's columns of
the same names (by default ``lsbg`` for LSBGs and unknown otherwise, as for folders).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from deepshadows._io import check_writable
from deepshadows.data.writing import _write_rows
from deepshadows.errors import InputError

__all__ = ["NPZ_SUFFIX", "import_npz", "parse_select", "read_npz_columns"]

#: File name ending recognised as a NumPy archive of cutouts (case-insensitive).
NPZ_SUFFIX = ".npz"
_RESERVED = ("images", "label")


def read_npz_columns(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read and check the arrays of a ``.npz`` file of cutouts.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (no pickled objects).

    Returns
    -------
    dict of str to ndarray
        ``images`` (N, H, W, 3) uint8, ``label`` (N,) int64 (all -1 when the file has none)
        and every other field, each of shape (N,); string fields as ``str`` arrays.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, ``images`` is absent or not square RGB uint8, or
        a field has the wrong shape or values; the message names the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: .npz file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz file without pickled objects ({exc})") from exc
    if "images" not in data:
        raise InputError(f"{path}: missing field 'images' (fields: {', '.join(sorted(data)) or 'none'})")
    images = data["images"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or not len(images):
        raise InputError(
            f"{path}: field 'images' must be uint8 of shape (N, H, W, 3) with N > 0, "
            f"got {images.dtype} {images.shape}"
        )
    if images.shape[1] != images.shape[2]:
        raise InputError(f"{path}: field 'images' must hold square cutouts, got {images.shape[1:3]}")
    n = images.shape[0]
    out: dict[str, np.ndarray] = {"images": images}
    for name, arr in data.items():
        if name == "images":
            continue
        if arr.shape != (n,):
            raise InputError(
                f"{path}: field {name!r} has shape {arr.shape}, expected ({n},), one value per image"
            )
        if arr.dtype.kind not in "USiubf":
            raise InputError(f"{path}: field {name!r} must hold strings or numbers, got dtype {arr.dtype}")
        out[name] = arr.astype(str) if arr.dtype.kind in "US" else arr
    label = out.get("label", np.full(n, -1))
    if label.dtype.kind not in "iub" or not np.isin(label, (-1, 0, 1)).all():
        bad = sorted(set(np.asarray(label).tolist()) - {-1, 0, 1})[:5]
        raise InputError(f"{path}: field 'label' must hold integers 1, 0 or -1, found {bad or label.dtype}")
    out["label"] = label.astype(np.int64)
    return out


def parse_select(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Parse ``FIELD=VALUE`` selections as given on the command line.

    Parameters
    ----------
    items : sequence of str
        Selections such as ``"selection=random"``.

    Returns
    -------
    dict of str to str
        Field to required value.

    Raises
    ------
    deepshadows.errors.InputError
        If an item has no ``=`` or an empty field name.
    """
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip():
            raise InputError(f"--select: expected FIELD=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _identifiers(path: Path, columns: Mapping[str, np.ndarray], rows: np.ndarray) -> list[str]:
    """Return one identifier per kept row (see the module docstring)."""
    for name in ("id", "source"):
        if name in columns:
            values = [str(v) for v in columns[name][rows]]
            if len(set(values)) == len(values):
                return values
            if name == "id":
                raise InputError(f"{path}: field 'id' holds duplicate identifiers")
    return [f"{path.stem}-{int(i)}" for i in rows]


def import_npz(
    path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    select: Mapping[str, str] | None = None,
    image_size: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a store from a ``.npz`` file of cutouts, every row in the ``test`` split.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (see the module docstring for its fields).
    out : path-like
        Store file to write.
    select : mapping of str to str, optional
        Keep only the rows whose field equals the value, e.g. ``{"selection": "random"}``.
    image_size : int, optional
        Required side of the cutouts in pixels; None accepts the file's.
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.

    Returns
    -------
    pathlib.Path
        The store file, written atomically.

    Raises
    ------
    deepshadows.errors.InputError
        If the file or a field is invalid, a selected field is missing or selects no row, or
        ``out`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    out = check_writable(out, overwrite=overwrite)
    columns = read_npz_columns(path)
    keep = np.ones(len(columns["images"]), dtype=bool)
    for name, value in (select or {}).items():
        if name not in columns or name == "images":
            fields = ", ".join(sorted(set(columns) - {"images"}))
            raise InputError(f"{path}: --select {name}={value}: no field {name!r} (fields: {fields})")
        keep &= columns[name].astype(str) == value
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        chosen = ", ".join(f"{k}={v}" for k, v in (select or {}).items())
        raise InputError(f"{path}: --select {chosen} keeps no row")
    images = columns["images"]
    if image_size is not None and images.shape[1] != int(image_size):
        raise InputError(
            f"{path}: field 'images' holds {images.shape[1]}-pixel cutouts, not {image_size} "
            "(--image-size); .npz cutouts are stored as they are"
        )
    labels = columns["label"][rows]
    meta = {name: columns[name][rows].tolist() for name in columns if name not in _RESERVED}
    return _write_rows(
        int(rows.size),
        _identifiers(path, columns, rows),
        labels,
        read_block=lambda start, stop: (images[rows[start:stop]], None, None),
        out=out,
        with_features=False,
        kinds=columns["kind"][rows].tolist() if "kind" in columns else None,
        subclasses=columns["subclass"][rows].tolist() if "subclass" in columns else None,
        splits=["test"] * int(rows.size),
        image_size=int(images.shape[1]),
        overwrite=overwrite,
        seed=0,
        fractions=(0.0, 0.0, 1.0),
        config={
            "source": "import-npz",
            "npz": path.name,
            "select": dict(select or {}),
            "image_size": int(images.shape[1]),
            "columns": meta | {"npz_row": rows.tolist()},
        },
    )
