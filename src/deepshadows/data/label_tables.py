"""Label tables: which cutouts are LSBGs and which artifacts, in the tables users already have.

A label table names objects by an id column (or places them by ``ra``/``dec``) and gives each a
class in a label column; other columns are ignored, except an optional ``split`` column and the
``ra``/``dec`` columns, which are kept. Formats:

* CSV (``.csv``): read as plain text with the :mod:`csv` module, UTF-8 (a byte-order mark is
  allowed), the first non-blank line not starting with ``#`` is the header;
* the labelling page's own file (header ``id,label,time``, any extension): read by
  :func:`deepshadows.data.label_file.read_labels`, which replays its ``undo`` records and leaves
  out skipped objects;
* anything astropy reads (``.ecsv``, ``.fits``, ``.fit``, ``.fits.gz``, ``.vot``, ``.parquet``,
  or a format astropy recognises).

Columns are found case-insensitively among :data:`ID_COLUMNS`, :data:`LABEL_COLUMNS`,
:data:`RA_COLUMNS` and :data:`DEC_COLUMNS` unless named. A label is one of the values of
:data:`LABEL_VALUES` (any case, surrounding blanks ignored), or the number or boolean 1/0.

Messages name the file and the row: for a CSV file, ``row N`` is the line of the file (the
header is row 1); for other formats, ``data row N`` counts the table's rows from 1.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepshadows._io import check_input_file
from deepshadows.data.label_file import read_labels
from deepshadows.errors import InputError
from deepshadows.tables import cell_text, find_column_name, first_line, read_cells

if TYPE_CHECKING:
    pass

__all__ = [
    "DEC_COLUMNS",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "LABEL_VALUES",
    "RA_COLUMNS",
    "LabelTable",
    "label_value",
    "load_label_table",
    "read_label_table",
]

#: Names of the id column tried, case-insensitively and in this order, when none is given.
ID_COLUMNS: tuple[str, ...] = (
    "id",
    "object_id",
    "objid",
    "coadd_object_id",
    "name",
    "object",
    "source",
    "source_id",
)
#: Names of the label column tried, case-insensitively and in this order, when none is given.
LABEL_COLUMNS: tuple[str, ...] = ("label", "class", "is_lsbg", "lsbg", "type", "kind", "classification")
#: Names of the right-ascension column (degrees), tried case-insensitively.
RA_COLUMNS: tuple[str, ...] = ("ra", "ra_deg", "raj2000")
#: Names of the declination column (degrees), tried case-insensitively.
DEC_COLUMNS: tuple[str, ...] = ("dec", "dec_deg", "dej2000", "decj2000")
#: Class of each label text (lower case): 1 = LSBG, 0 = artifact (type-1 and type-2 alike).
LABEL_VALUES: dict[str, int] = {
    "1": 1,
    "0": 0,
    "1.0": 1,
    "0.0": 0,
    "lsbg": 1,
    "artifact": 0,
    "type2": 0,
    "type1": 0,
    "true": 1,
    "false": 0,
}
#: How messages say what a label may be.
_LABEL_HINT = "use 1/0, lsbg/artifact, type2/type1 (artifacts) or true/false, any case"
_SPLIT_COLUMN = "split"
_PAGE_HEADER = "id,label,time"


@dataclass(frozen=True, eq=False)
class LabelTable:
    """The labelled objects of a label table, one entry per object, in table order.

    Parameters
    ----------
    path : pathlib.Path
        The file read.
    ids : list of str
        Id of each object (the data row numbers as text when the table has no id column).
    labels : ndarray of shape (n,), int64
        Class of each object: 1 = LSBG, 0 = artifact.
    splits : list of str or None, optional
        Value of the ``split`` column of each object (blanks stripped, lower case), or None
        without one.
    ra, dec : ndarray of shape (n,), float64, or None, optional
        Position of each object in degrees (NaN where empty), or None without both columns.
    rows : ndarray of shape (n,), int64, or None, optional
        Row of each object in the file, for messages (see the module docstring); None for the
        labelling page's file, whose labels come from replaying its records.
    row_word : str, optional
        How messages name a row: ``"row"`` (CSV lines) or ``"data row"``.
    id_column, label_column : str or None, optional
        Columns read; ``id_column`` is None when the table has none (it can then only be
        matched by position).
    """

    path: Path
    ids: list[str]
    labels: np.ndarray
    splits: list[str] | None = None
    ra: np.ndarray | None = None
    dec: np.ndarray | None = None
    rows: np.ndarray | None = None
    row_word: str = "row"
    id_column: str | None = "id"
    label_column: str | None = "label"

    def __len__(self) -> int:
        return len(self.ids)

    def describe(self, index: int) -> str:
        """Return how messages name an entry: its row and id, e.g. ``row 3 (id 'a')``.

        Parameters
        ----------
        index : int
            Entry, from 0.

        Returns
        -------
        str
            The row (when known) and the id (when the table has an id column).
        """
        ident = f"id {self.ids[index]!r}"
        if self.rows is None:
            return ident
        row = f"{self.row_word} {int(self.rows[index])}"
        return row if self.id_column is None else f"{row} ({ident})"

    def as_dict(self) -> dict[str, int]:
        """Return the class of each id, in table order.

        Returns
        -------
        dict of str to int
            1 = LSBG, 0 = artifact.

        Raises
        ------
        deepshadows.errors.InputError
            If the table has no id column.
        """
        if self.id_column is None:
            raise InputError(f"{self.path}: no id column (looked for {', '.join(ID_COLUMNS)}, any case)")
        return {k: int(v) for k, v in zip(self.ids, self.labels.tolist(), strict=True)}


# -- reading -----------------------------------------------------------------------------------


def read_label_table(
    path: str | os.PathLike[str], *, id_column: str | None = None, label_column: str | None = None
) -> dict[str, int]:
    """Return the class of every object of a label table, by id.

    Parameters
    ----------
    path, id_column, label_column
        As for :func:`load_label_table`; the table must have an id column.

    Returns
    -------
    dict of str to int
        1 = LSBG, 0 = artifact, in table order; an id given twice with the same label once.

    Raises
    ------
    deepshadows.errors.InputError
        As :func:`load_label_table`, and if the table has no id column.
    """
    table = load_label_table(path, id_column=id_column, label_column=label_column)
    return table.as_dict()


def load_label_table(
    path: str | os.PathLike[str], *, id_column: str | None = None, label_column: str | None = None
) -> LabelTable:
    """Read a label table with its ids, classes and, where present, splits and positions.

    Parameters
    ----------
    path : path-like
        CSV, ECSV or FITS table, or the labelling page's file (see the module docstring).
    id_column, label_column : str, optional
        Names of the id and label columns (any case); by default the first of
        :data:`ID_COLUMNS` and :data:`LABEL_COLUMNS` present. A table without an id column is
        accepted when it has ``ra`` and ``dec`` columns (it can only be matched by position).

    Returns
    -------
    LabelTable
        One entry per object in table order; an id given twice with the same label is kept
        once (its first row).

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, a column is missing (the message lists the
        columns found), or a row has an empty id, an unknown label, an id labelled twice
        differently or an ``ra`` or ``dec`` that is not a number; the message names the file
        and the row.
    """
    path = check_input_file(path, "label table", "a label table (CSV, ECSV or FITS)")
    if first_line(path) == _PAGE_HEADER:
        return _page_table(path)
    names, cells, rows, csv_text = read_cells(path, "label table")
    return _build(path, names, cells, rows, "row" if csv_text else "data row", id_column, label_column)


def _page_table(path: Path) -> LabelTable:
    """Read the labelling page's file through its own reader (undo replayed, skips left out)."""
    labels = read_labels(path)
    return LabelTable(path, list(labels), np.array(list(labels.values()), dtype=np.int64))


def label_value(value: Any) -> int | None:
    """Return the class of a label cell, or None when the value is not a known label.

    Parameters
    ----------
    value : object
        The cell: text (one of :data:`LABEL_VALUES`, any case, surrounding blanks ignored),
        bytes, or the number or boolean 1/0.

    Returns
    -------
    int or None
        1 = LSBG, 0 = artifact, or None for any other value (an empty cell included).
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    return LABEL_VALUES.get(cell_text(value).lower())


def _degrees(value: Any, what: str, where: str) -> float:
    text = cell_text(value)
    if text == "":
        return math.nan
    try:
        return float(value) if isinstance(value, int | float) else float(text)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not a number") from None


def _find(
    path: Path, names: Sequence[str], given: str | None, aliases: Sequence[str], what: str
) -> str | None:
    """Return the column named ``given`` (any case) or the first alias present; None if absent."""
    return find_column_name(names, given, aliases, path=path, option=f"{what}_column")


def _build(
    path: Path,
    names: list[str],
    columns: list[list[Any]],
    rows: list[int],
    word: str,
    id_given: str | None,
    label_given: str | None,
) -> LabelTable:
    """Check the cells of a table and return its objects (see :func:`load_label_table`)."""
    cells = dict(zip(names, columns, strict=True))
    found = ", ".join(names) or "none"
    id_name = _find(path, names, id_given, ID_COLUMNS, "id")
    label_name = _find(path, names, label_given, LABEL_COLUMNS, "label")
    ra_name = _find(path, names, None, RA_COLUMNS, "ra")
    dec_name = _find(path, names, None, DEC_COLUMNS, "dec")
    split_name = _find(path, names, None, (_SPLIT_COLUMN,), "split")
    if label_name is None:
        raise InputError(
            f"{path}: no label column (looked for {', '.join(LABEL_COLUMNS)}, any case); "
            f"the columns are {found}; name it with label_column"
        )
    positions = ra_name is not None and dec_name is not None
    if id_name is None and not positions:
        raise InputError(
            f"{path}: no id column (looked for {', '.join(ID_COLUMNS)}, any case) and no ra, dec "
            f"columns; the columns are {found}; name it with id_column"
        )
    ids = [cell_text(v) for v in cells[id_name]] if id_name else [str(r) for r in rows]
    labels: list[int] = []
    first: dict[str, int] = {}
    keep: list[int] = []
    for k, (row, value) in enumerate(zip(rows, cells[label_name], strict=True)):
        where = f"{path}: {word} {row}"
        if not ids[k]:
            raise InputError(f"{where}: the id ({id_name}) is empty")
        label = label_value(value)
        if label is None:
            text = cell_text(value)
            what = "the label is empty" if not text else f"unknown label value {text!r}"
            raise InputError(f"{where}: {what} ({label_name}); {_LABEL_HINT}")
        labels.append(label)
        if id_name is not None and ids[k] in first:
            j = first[ids[k]]
            if labels[j] != label:
                raise InputError(
                    f"{where}: id {ids[k]!r} is labelled {label}, but {labels[j]} in {word} {rows[j]}"
                )
            continue
        first[ids[k]] = k
        keep.append(k)
    ra = dec = None
    if positions:
        ra = np.array([_degrees(cells[ra_name][k], "ra", f"{path}: {word} {rows[k]}") for k in keep])
        dec = np.array([_degrees(cells[dec_name][k], "dec", f"{path}: {word} {rows[k]}") for k in keep])
    splits = [cell_text(cells[split_name][k]).lower() for k in keep] if split_name else None
    return LabelTable(
        path,
        [ids[k] for k in keep],
        np.array([labels[k] for k in keep], dtype=np.int64),
        splits=splits,
        ra=ra,
        dec=dec,
        rows=np.array([rows[k] for k in keep], dtype=np.int64),
        row_word=word,
        id_column=id_name,
        label_column=label_name,
    )
