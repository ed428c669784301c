"""The rows to import from a folder: every cutout in it, or the rows of a labels table.

A labels table (CSV, ECSV, FITS or any table astropy reads) is read by the shared readers of
:mod:`deepshadows.tables`, its labels by :func:`deepshadows.data.label_tables.label_value`. Its
columns ``id``, ``label``, ``kind``, ``subclass`` and ``split`` (any case) go to the store's own
datasets; every other column is the row's catalogue, kept in the store's ``truth`` table: numbers
as float64 or int64 (float64, NaN where empty, for integers with empty cells), anything else as
fixed-width UTF-8 text. The first of :data:`~deepshadows.data.label_tables.RA_COLUMNS` and of
:data:`~deepshadows.data.label_tables.DEC_COLUMNS` present (any case) is kept as ``ra`` and
``dec`` in degrees, where a fetched store keeps its catalogue position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.data.fits import FITS_SUFFIXES, FitsObject, is_fits_file
from deepshadows.data.images import IMAGE_SUFFIXES
from deepshadows.data.label_tables import (
    _LABEL_HINT,
    DEC_COLUMNS,
    RA_COLUMNS,
    label_value,
)
from deepshadows.errors import InputError
from deepshadows.store.reader import KINDS, SUBCLASSES
from deepshadows.store.splits import SPLIT_NAMES
from deepshadows.tables import cell_text, find_column_name, read_cells

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_SPLIT_VALUES = SPLIT_NAMES
#: Columns of a labels table held by the store's own datasets, not by its ``truth`` table.
_OWN_COLUMNS = ("id", "label", "kind", "subclass", "split")
#: Columns read into each row's record (``file`` is also kept in the catalogue).
_RECORD_COLUMNS = (*_OWN_COLUMNS, "file")
_INTEGER = re.compile(r"[+-]?[0-9]+")

#: A row's cutout: an image file, or the FITS file(s) of one object.
_Source = Path | FitsObject


@dataclass
class _Rows:
    """Cutouts to import, one entry per row."""

    paths: list[_Source] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    subclasses: list[str] = field(default_factory=list)
    splits: list[str] | None = None
    #: The catalogue columns of each row (records of one structured dtype), or None.
    records: list[np.void] | None = None

    def catalog(self) -> np.ndarray | None:
        """Return the catalogue columns of the rows as one structured array, or None."""
        if not self.records:
            return None
        return np.array(self.records, dtype=self.records[0].dtype)

    def append(
        self, source: _Source, ident: str, label: int = -1, kind: str = "", subclass: str = ""
    ) -> None:
        """Add one row; by default unlabelled, with no kind and no subclass."""
        self.paths.append(source)
        self.ids.append(ident)
        self.labels.append(label)
        self.kinds.append(kind)
        self.subclasses.append(subclass)


def _rows_from_folder(images: list[Path]) -> _Rows:
    rows = _Rows()
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen:
            raise InputError(
                f"{path}: id {path.stem!r} is also the name of {seen[path.stem].name};"
                " ids (file names without extension) must be unique"
            )
        seen[path.stem] = path
        rows.append(path, path.stem)
    return rows


def _rows_from_fits(objects: Mapping[str, FitsObject]) -> _Rows:
    rows = _Rows()
    for ident in sorted(objects):
        rows.append(objects[ident], ident)
    return rows


def _looked_for(ident: str, fits: bool) -> str:
    if fits:
        return f"{ident}.fits or {', '.join(f'{ident}_{b}.fits' for b in ('g', 'r', 'z'))}"
    return ", ".join(ident + s for s in IMAGE_SUFFIXES)


def _parse_row(
    record: Mapping[str, str],
    where: str,
    by_stem: Mapping[str, Sequence[_Source]],
    folder: Path,
    *,
    fits: bool = False,
) -> tuple[_Source, str, int, str, str]:
    """Check one CSV record and return (file or FITS object, id, label, kind, subclass)."""
    ident = record["id"]
    if not ident:
        raise InputError(f"{where}: empty id")
    label = label_value(record["label"])
    if label is None:
        raise InputError(f"{where}: label {record['label']!r} is not a label; {_LABEL_HINT}")
    kind = record.get("kind", "").lower() or ("lsbg" if label == 1 else "")
    if kind not in KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS[:-1])}")
    if (kind == "lsbg") != (label == 1) and kind:
        raise InputError(f"{where}: kind {kind!r} contradicts label {record['label']!r}")
    subclass = record.get("subclass", "").upper()
    if subclass not in SUBCLASSES or (subclass and label == 1):
        raise InputError(f"{where}: subclass {subclass!r} is not valid for this row (artifacts only, A to F)")
    name = record.get("file", "")
    source: _Source
    if name:
        source = folder / name
        if not source.is_file():
            raise InputError(f"{where}: file {name!r} not found in {folder}")
        if fits:
            if not is_fits_file(source):
                raise InputError(f"{where}: file {name!r} is not a FITS file ({', '.join(FITS_SUFFIXES)})")
            source = FitsObject(ident, cube=source)
    else:
        matches = by_stem.get(ident, [])
        if not matches:
            raise InputError(
                f"{where}: no image for id {ident!r} (looked for {_looked_for(ident, fits)} in {folder})"
            )
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches if isinstance(p, Path))
            raise InputError(f"{where}: id {ident!r} matches several files ({names}); add a 'file' column")
        source = matches[0]
    return source, ident, label, kind, subclass


def _read_cells(path: Path) -> tuple[list[str], list[list[Any]], list[int] | None]:
    """Return a labels table's column names, its cells by column and, for CSV text, each row's line.

    CSV text (a ``.csv`` file that is not ECSV, or a file of an unknown extension) is read by
    :func:`deepshadows.tables.read_cells` as text, anything else by astropy, whose rows have no
    line (None).
    """
    names, cells, rows, csv_text = read_cells(path, "labels table", unknown_as_csv=True)
    return names, cells, rows if csv_text else None


def _check_names(path: Path, names: Sequence[str]) -> None:
    """Refuse a column name given twice (in any case); columns without a name are left out."""
    seen: dict[str, str] = {}
    for name in filter(None, names):
        if name.lower() in seen:
            raise InputError(
                f"{path}: columns {seen[name.lower()]!r} and {name!r} have the same name "
                "(column names are read in any case)"
            )
        seen[name.lower()] = name


def _number(cell: Any) -> Any:
    """Return a CSV cell as an int or float when it is written as one, None when empty, else the text."""
    text = cell_text(cell)
    if not text:
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if "_" not in text:
        try:
            return float(text)
        except ValueError:
            pass
    return text


def _catalog_column(cells: Sequence[Any], csv_text: bool) -> np.ndarray:
    """Return one catalogue column as int64, float64 (NaN where empty) or fixed-width UTF-8 bytes.

    CSV cells are numbers when every non-empty cell is written as one; cells of other formats
    keep the type of their column (booleans as 0/1).
    """
    values = [_number(c) for c in cells] if csv_text else [None if c == "" else c for c in cells]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) for v in present):
        if len(present) < len(values) or not all(isinstance(v, int) for v in present):
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:  # integers beyond int64 (long ids) keep every digit as text
            pass
    encoded = [cell_text(c).encode("utf-8") for c in cells]
    return np.array(encoded, dtype=f"S{max([1, *(len(e) for e in encoded)])}")


def _degrees(cells: Sequence[Any], name: str, what: str, wheres: Sequence[str]) -> np.ndarray:
    """Return a position column in degrees (NaN where empty); refuse a cell that is not a number."""
    values = []
    for where, cell in zip(wheres, cells, strict=True):
        value = cell if isinstance(cell, int | float) else _number(cell)
        if value is not None and not isinstance(value, int | float):
            raise InputError(
                f"{where}: {what} {cell_text(cell)!r} ({name}) is not a number of degrees; "
                "rename the column to keep it as text"
            )
        values.append(np.nan if value is None else value)
    return np.array(values, dtype=np.float64)


def _catalog(
    path: Path,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    kept: Sequence[int],
    wheres: Sequence[str],
    csv_text: bool,
) -> np.ndarray | None:
    """Return the catalogue columns of the rows ``kept`` as a structured array (None without any)."""
    names_kept = [n for n in names if n and n.lower() not in _OWN_COLUMNS]
    ra = find_column_name(names_kept, None, RA_COLUMNS, path=path, option="ra")
    dec = find_column_name(names_kept, None, DEC_COLUMNS, path=path, option="dec")
    renamed = {ra: "ra", dec: "dec"} if ra is not None and dec is not None else {}
    fields: list[tuple[str, np.ndarray]] = []
    for name, cells in zip(names, columns, strict=True):
        if name not in names_kept:
            continue
        picked = [cells[k] for k in kept]
        if name in renamed:
            column = _degrees(picked, name, renamed[name], wheres)
        else:
            column = _catalog_column(picked, csv_text)
        fields.append((renamed.get(name, name), column))
    if not fields:
        return None
    table = np.empty(len(kept), dtype=[(name, column.dtype) for name, column in fields])
    for name, column in fields:
        table[name] = column
    return table


def _rows_from_csv(
    csv_path: Path, folder: Path, images: list[Path], objects: Mapping[str, FitsObject] | None = None
) -> _Rows:
    """Return the rows of a labels table (CSV, ECSV, FITS, ...), with their catalogue columns."""
    by_stem: dict[str, list[_Source]] = {}
    if objects is not None:
        by_stem = {ident: [obj] for ident, obj in objects.items()}
    for path in images:
        by_stem.setdefault(path.stem, []).append(path)
    names, columns, lines = _read_cells(csv_path)
    _check_names(csv_path, names)
    header = [name.lower() for name in names]
    missing = [c for c in ("id", "label") if c not in header]
    if missing:
        raise InputError(
            f"{csv_path}: missing column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
        )
    own = {key: columns[header.index(key)] for key in _RECORD_COLUMNS if key in header}
    rows = _Rows(splits=[] if "split" in header else None)
    first_row: dict[str, int] = {}
    kept: list[int] = []
    wheres: list[str] = []
    n_rows = len(columns[0]) if columns else 0
    for k in range(n_rows):
        number = k + 1
        where = f"{csv_path}, row {number}" + ("" if lines is None else f" (line {lines[k]})")
        record = {key: cell_text(cells[k]) for key, cells in own.items()}
        if not any(cell_text(cells[k]) for cells in columns):
            continue
        path, ident, label, kind, subclass = _parse_row(
            record, where, by_stem, folder, fits=objects is not None
        )
        if ident in first_row:
            raise InputError(f"{where}: id {ident!r} repeats row {first_row[ident]}")
        first_row[ident] = number
        if rows.splits is not None:
            split = record["split"].lower()
            if split not in _SPLIT_VALUES:
                raise InputError(
                    f"{where}: split {record['split']!r} is not one of {', '.join(_SPLIT_VALUES)}"
                )
            rows.splits.append(split)
        rows.append(path, ident, label, kind, subclass)
        kept.append(k)
        wheres.append(where)
    if not rows.ids:
        raise InputError(f"{csv_path}: no data rows")
    table = _catalog(csv_path, names, columns, kept, wheres, lines is not None)
    rows.records = None if table is None else list(table)
    return rows
