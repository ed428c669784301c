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

import csv
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.table import Table
from astropy.utils.exceptions import AstropyWarning

from deepshadows._io import check_input_file
from deepshadows.data.label_file import read_labels
from deepshadows.errors import InputError
from deepshadows.tables import ASTROPY_FORMATS, catalog_format, catalog_suffixes, find_column_name

if TYPE_CHECKING:
    from deepshadows.data.store import Store

__all__ = [
    "DEC_COLUMNS",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "LABEL_VALUES",
    "RA_COLUMNS",
    "LabelTable",
    "load_label_table",
    "match_labels",
    "read_label_table",
    "store_positions",
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
_SPLIT_COLUMN = "split"
_PAGE_HEADER = "id,label,time"
_ECSV_START = "# %ECSV"


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
    path : path-like
        CSV, ECSV or FITS table, or the labelling page's file (see the module docstring).
    id_column, label_column : str, optional
        Names of the id and label columns (any case); by default the first of
        :data:`ID_COLUMNS` and :data:`LABEL_COLUMNS` present.

    Returns
    -------
    dict of str to int
        1 = LSBG, 0 = artifact, in table order; an id given twice with the same label once.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, a column is missing (the message lists the
        columns found), or a row has an empty id, an unknown label or an id labelled twice
        differently; the message names the file and the row.
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
        As :func:`read_label_table`, and for an ``ra`` or ``dec`` that is not a number.
    """
    path = check_input_file(path, "label table", "a label table (CSV, ECSV or FITS)")
    first = _first_line(path)
    if first == _PAGE_HEADER:
        return _page_table(path)
    known = catalog_format(path)
    if known == "csv" and not first.startswith(_ECSV_START):
        names, cells, rows = _read_csv(path)
        word = "row"
    else:
        fmt = "ascii.ecsv" if known == "csv" else None if known is None else ASTROPY_FORMATS[known]
        names, cells, rows = _read_astropy(path, fmt)
        word = "data row"
    return _build(path, names, cells, rows, word, id_column, label_column)


def _first_line(path: Path) -> str:
    """Return the first line of a file as text (replacement characters for binary files)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    return head.decode("utf-8-sig", errors="replace").splitlines()[0].strip() if head.strip() else ""


def _page_table(path: Path) -> LabelTable:
    """Read the labelling page's file through its own reader (undo replayed, skips left out)."""
    labels = read_labels(path)
    return LabelTable(path, list(labels), np.array(list(labels.values()), dtype=np.int64))


def _read_csv(path: Path) -> tuple[list[str], list[list[Any]], list[int]]:
    """Return the header, the cells by column and the line of each row of a plain CSV file."""
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for record in reader:
                if not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#"):
                    continue
                if header is None:
                    header = [cell.strip() for cell in record]
                    continue
                if len(record) != len(header):
                    raise InputError(
                        f"{path}: row {reader.line_num}: {len(record)} value(s), but the header "
                        f"names {len(header)} column(s)"
                    )
                records.append(record)
                rows.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text file; a .csv label table must be CSV text") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from exc
    if header is None:
        raise InputError(f"{path}: the label table has no header line")
    columns = [[record[k] for record in records] for k in range(len(header))]
    return header, columns, rows


def _read_astropy(path: Path, fmt: str | None) -> tuple[list[str], list[list[Any]], list[int]]:
    """Return the column names, the cells by column and the data row numbers of a table file.

    ``fmt`` is the astropy format, or None to let astropy identify it. Columns of more than one
    value per row are left out.
    """
    try:
        with warnings.catch_warnings():
            # Unit strings and similar metadata problems do not matter for labels.
            warnings.simplefilter("ignore", AstropyWarning)
            table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except Exception as exc:  # astropy raises many kinds for unreadable input
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: cannot read the label table ({detail}); use CSV, ECSV or FITS, a file ending "
            f"in {', '.join(catalog_suffixes())}"
        ) from exc
    names = [name for name in table.colnames if table[name].ndim == 1]
    return names, [_cells(table[name]) for name in names], list(range(1, len(table) + 1))


def _cells(column: Any) -> list[Any]:
    """Return a table column's values as Python objects, None where masked."""
    values = np.asarray(column).tolist()
    mask = np.ma.getmaskarray(column)
    return [None if masked else value for value, masked in zip(values, mask.tolist(), strict=True)]


def _text(value: Any) -> str:
    """Return a cell as stripped text (``""`` for an empty or masked cell)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()


def _label(value: Any) -> int | None:
    """Return the class of a label cell, or None when the value is not a known label."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    return LABEL_VALUES.get(_text(value).lower())


def _degrees(value: Any, what: str, where: str) -> float:
    text = _text(value)
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
    ids = [_text(v) for v in cells[id_name]] if id_name else [str(r) for r in rows]
    labels: list[int] = []
    first: dict[str, int] = {}
    keep: list[int] = []
    for k, (row, value) in enumerate(zip(rows, cells[label_name], strict=True)):
        where = f"{path}: {word} {row}"
        if not ids[k]:
            raise InputError(f"{where}: the id ({id_name}) is empty")
        label = _label(value)
        if label is None:
            text = _text(value)
            what = "the label is empty" if not text else f"unknown label value {text!r}"
            raise InputError(
                f"{where}: {what} ({label_name}); use 1/0, lsbg/artifact, type2/type1 (artifacts) "
                "or true/false, any case"
            )
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
    splits = [_text(cells[split_name][k]).lower() for k in keep] if split_name else None
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


# -- matching ----------------------------------------------------------------------------------


def store_positions(store: Store) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the sky position of every row of a store, where the store holds one.

    Looked for in this order: the ``ra`` and ``dec`` columns of the ``truth`` table (a fetched
    store), of the ``features`` table, and the per-row ``ra`` and ``dec`` columns that
    :func:`deepshadows.data.npz.import_npz` keeps in the store's configuration (``columns``).

    Parameters
    ----------
    store : deepshadows.data.store.Store
        The store.

    Returns
    -------
    tuple of ndarray of shape (n,), float64, or None
        ``(ra, dec)`` in degrees, one per row; None when the store holds no positions.
    """
    for has, read in ((store.has_truth, store.truth_table), (store.has_features, store.features_table)):
        if has:
            table = read()
            if "ra" in table.colnames and "dec" in table.colnames:
                return np.asarray(table["ra"], dtype=np.float64), np.asarray(table["dec"], dtype=np.float64)
    columns = store.config.get("columns")
    if isinstance(columns, Mapping) and "ra" in columns and "dec" in columns:
        try:
            ra = np.asarray(columns["ra"], dtype=np.float64)
            dec = np.asarray(columns["dec"], dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if ra.shape == dec.shape == (len(store),):
            return ra, dec
    return None


def match_labels(
    table: LabelTable | Mapping[str, int],
    store_ids: Sequence[str] | np.ndarray,
    *,
    ra: np.ndarray | None = None,
    dec: np.ndarray | None = None,
    match_radius_arcsec: float | None = None,
    target: str = "the store",
) -> tuple[np.ndarray, np.ndarray]:
    """Return the store rows and classes of the objects of a label table.

    Parameters
    ----------
    table : LabelTable or mapping of str to int
        The labels (a mapping is read as id to class).
    store_ids : sequence of str
        Id of every store row.
    ra, dec : ndarray of shape (n,), optional
        Position of every store row in degrees (see :func:`store_positions`); needed to match by
        position.
    match_radius_arcsec : float, optional
        Match by position instead of id: each table row goes to its nearest store row, which
        must lie within this radius.
    target : str, optional
        How messages name the store.

    Returns
    -------
    rows : ndarray of shape (k,), int64
        Store rows, in table order; a store row matched by two table rows with the same label
        is returned once.
    classes : ndarray of shape (k,), int64
        Class of each row: 1 = LSBG, 0 = artifact.

    Raises
    ------
    deepshadows.errors.InputError
        If ids are not in the store (the message counts them and names the first few); when
        matching by position, if a position is missing on either side, no table row lies within
        the radius (the message gives the closest separation) or only some do; or if two table
        rows go to the same store row with different labels (the message names both).
    """
    if not isinstance(table, LabelTable):
        table = LabelTable(Path("labels"), list(table), np.array(list(table.values()), dtype=np.int64))
    entries, rows = _match(table, store_ids, ra, dec, match_radius_arcsec, target)
    return rows, table.labels[entries].astype(np.int64)


def _match(
    table: LabelTable,
    store_ids: Sequence[str] | np.ndarray,
    ra: np.ndarray | None,
    dec: np.ndarray | None,
    radius: float | None,
    target: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the table entries kept and their store rows (see :func:`match_labels`)."""
    ids = np.asarray(store_ids).astype(str)
    if len(table) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if radius is None:
        rows = _rows_by_id(table, ids, target)
    else:
        rows = _rows_by_position(table, ra, dec, float(radius), target)
    return _first_of_each(table, rows, ids, target)


def _rows_by_id(table: LabelTable, store_ids: np.ndarray, target: str) -> np.ndarray:
    if table.id_column is None:
        raise InputError(
            f"{table.path}: no id column (looked for {', '.join(ID_COLUMNS)}, any case); "
            "match it by position with a match radius"
        )
    row_of: dict[str, int] = {}
    for row, ident in enumerate(store_ids.tolist()):
        row_of.setdefault(ident, row)
    missing = [ident for ident in table.ids if ident not in row_of]
    if missing:
        shown = ", ".join(repr(k) for k in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(f"{table.path}: {len(missing)} of {len(table)} id(s) not in {target}: {shown}")
    return np.array([row_of[ident] for ident in table.ids], dtype=np.int64)


def _rows_by_position(
    table: LabelTable, ra: np.ndarray | None, dec: np.ndarray | None, radius: float, target: str
) -> np.ndarray:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    if not (math.isfinite(radius) and radius > 0):
        raise InputError(f"match radius: must be a positive number of arcseconds, got {radius:g}")
    if table.ra is None or table.dec is None:
        raise InputError(
            f"{table.path}: no ra, dec columns (looked for {', '.join(RA_COLUMNS)} and "
            f"{', '.join(DEC_COLUMNS)}, any case); needed to match by position"
        )
    if ra is None or dec is None:
        raise InputError(f"{target} holds no ra, dec positions; match the labels by id instead")
    bad = np.flatnonzero(~(np.isfinite(table.ra) & np.isfinite(table.dec)))
    if bad.size:
        raise InputError(f"{table.path}: {table.describe(int(bad[0]))}: ra or dec is empty")
    known = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec))
    if known.size == 0:
        raise InputError(f"{target} holds no finite ra, dec position")
    catalog = SkyCoord(ra[known] * u.deg, dec[known] * u.deg)
    nearest, separation, _ = SkyCoord(table.ra * u.deg, table.dec * u.deg).match_to_catalog_sky(catalog)
    arcsec = np.atleast_1d(separation.to_value(u.arcsec))
    far = np.flatnonzero(arcsec > radius)
    if far.size == len(table):
        k = int(np.argmin(arcsec))
        raise InputError(
            f"{table.path}: no row lies within {radius:g} arcsec of a position in {target}; the "
            f"closest is {arcsec[k]:.3g} arcsec away ({table.describe(k)})"
        )
    if far.size:
        k = int(far[0])
        raise InputError(
            f"{table.path}: {far.size} of {len(table)} row(s) lie farther than {radius:g} arcsec from "
            f"every position in {target}; first {table.describe(k)}, {arcsec[k]:.3g} arcsec away"
        )
    return known[np.atleast_1d(nearest)].astype(np.int64)


def _first_of_each(
    table: LabelTable, rows: np.ndarray, store_ids: np.ndarray, target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the first table entry of each store row and its row; refuse entries that disagree."""
    first: dict[int, int] = {}
    keep: list[int] = []
    for k, row in enumerate(rows.tolist()):
        j = first.setdefault(row, k)
        if j == k:
            keep.append(k)
        elif table.labels[j] != table.labels[k]:
            raise InputError(
                f"{table.path}: {table.describe(j)} and {table.describe(k)} both match "
                f"{target}'s id {store_ids[row]!r} but are labelled {table.labels[j]} and "
                f"{table.labels[k]}"
            )
    picked = np.array(keep, dtype=np.int64)
    return picked, rows[picked]
