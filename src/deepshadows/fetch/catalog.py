"""Catalogues of candidates to fetch: read a CSV or FITS table and check every row.

Rows are numbered from 1 in the order of the table's data rows (the header line of a CSV file is
not counted). A bad row (a coordinate that is missing, not a number or out of range, an empty
or repeated id, an unknown label) is kept aside with its reason; the others are fetched.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from astropy.utils.exceptions import AstropyWarning

from deepshadows._io import check_input_file, file_sha256
from deepshadows.data.label_tables import label_value
from deepshadows.errors import InputError
from deepshadows.tables import ASTROPY_FORMATS, catalog_format, catalog_suffixes, cell_text, find_column_name

__all__ = ["BadRow", "Catalog", "CatalogRow", "catalog_ids", "find_column", "read_catalog", "read_table"]

#: Column names tried (case-insensitively, in this order) when none is given.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "ra": ("ra", "ra_deg", "raj2000"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000"),
    "id": ("id", "objid", "object_id", "coadd_object_id", "name"),
}
_OPTIONS = {"ra": "--ra-column", "dec": "--dec-column", "id": "--id-column", "label": "--label-column"}
#: Label values of an unlabelled row (lower case, ``.0`` removed); the others are those of
#: :data:`deepshadows.data.label_tables.LABEL_VALUES`.
_UNLABELLED = ("-1", "", "unknown")


@dataclass(frozen=True)
class CatalogRow:
    """One valid row of a catalogue.

    Parameters
    ----------
    row : int
        Data row number, from 1.
    ident : str
        Identifier (the id column, or the row number without one).
    ra, dec : float
        Coordinates in degrees.
    label : int
        1 = LSBG, 0 = artifact, -1 = unknown.
    """

    row: int
    ident: str
    ra: float
    dec: float
    label: int = -1


@dataclass(frozen=True)
class BadRow:
    """A row that is not fetched, with the reason; also used for rows whose download failed.

    Parameters
    ----------
    row : int
        Data row number, from 1.
    ident : str
        Identifier as read (may be empty).
    ra, dec : str
        Coordinates as read.
    reason : str
        Why the row is not in the store.
    """

    row: int
    ident: str
    ra: str
    dec: str
    reason: str


@dataclass
class Catalog:
    """A checked catalogue.

    Parameters
    ----------
    path : pathlib.Path
        The file read.
    rows : list of CatalogRow
        Valid rows, in table order.
    bad : list of BadRow
        Invalid rows, in table order.
    columns : dict
        Column used for ``ra``, ``dec``, ``id`` and ``label`` (None when absent).
    n_rows : int
        Number of data rows in the table.
    sha256 : str
        Hash of the file's bytes.
    table : astropy.table.Table or None
        Every column and row of the file, as read (None when the catalogue was built otherwise;
        :func:`read_table` then reads it again where needed).
    """

    path: Path
    rows: list[CatalogRow] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    columns: dict[str, str | None] = field(default_factory=dict)
    n_rows: int = 0
    sha256: str = ""
    table: Table | None = field(default=None, repr=False, compare=False)

    def describe(self, bad: BadRow) -> str:
        """Return the one-line message of a bad row, naming the file and the data row."""
        ident = f" (id {bad.ident!r})" if bad.ident else ""
        return f"{self.path}, data row {bad.row}{ident}: {bad.reason}"


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a catalogue file (CSV, ECSV or FITS table) as an astropy table, whatever its rows hold.

    Parameters
    ----------
    path : path-like
        The file; its format follows the extension (see :func:`read_catalog`).

    Returns
    -------
    astropy.table.Table
        Every column and row of the file.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, a folder, empty or unreadable; the message names it.
    """
    return _read_table(check_input_file(path, "catalogue", "a CSV or FITS catalogue"))


def catalog_ids(table: Table, id_column: str | None) -> list[str]:
    """Return the identifiers of a catalogue's rows as ``fetch`` stores them.

    Parameters
    ----------
    table : astropy.table.Table
        The catalogue.
    id_column : str or None
        Its id column (see :func:`find_column`); None numbers the data rows from 1.

    Returns
    -------
    list of str
        The id column's text (stripped, ``""`` when masked), or the row numbers.
    """
    if id_column is None:
        return [str(k) for k in range(1, len(table) + 1)]
    return [cell_text(value) for value in table[id_column]]


def _read_table(path: Path) -> Table:
    known = catalog_format(path)
    fmt = None if known is None else ASTROPY_FORMATS[known]
    kind = "FITS" if known == "fits" else "CSV" if known == "csv" else "table"
    try:
        with warnings.catch_warnings():
            # Unit strings and similar metadata problems do not matter for coordinates.
            warnings.simplefilter("ignore", AstropyWarning)
            table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except Exception as exc:  # astropy raises many kinds for unreadable input
        hint = "" if fmt else f" (use a file ending in {', '.join(catalog_suffixes())})"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read the catalogue as {kind}{hint} ({detail})") from exc
    return table


def find_column(table: Table, path: str | os.PathLike[str], what: str, given: str | None) -> str | None:
    """Return the name of a catalogue's ``ra``, ``dec``, ``id`` or ``label`` column.

    Parameters
    ----------
    table : astropy.table.Table
        The catalogue.
    path : path-like
        Its file, for messages.
    what : {"ra", "dec", "id", "label"}
        The column wanted.
    given : str or None
        The name given by the user (matched case-insensitively); None tries
        :data:`DEFAULT_COLUMNS`.

    Returns
    -------
    str or None
        The column's name; None for an ``id`` or ``label`` column that is absent.

    Raises
    ------
    deepshadows.errors.InputError
        If a given column is absent, or no ``ra`` or ``dec`` column is found.
    """
    names = list(table.colnames)
    found = find_column_name(names, given, DEFAULT_COLUMNS.get(what, ()), path=path, option=_OPTIONS[what])
    if found is not None:
        return found
    if what in ("ra", "dec"):
        raise InputError(
            f"{path}: no {what} column (looked for {', '.join(DEFAULT_COLUMNS[what])}, any case); "
            f"name it with {_OPTIONS[what]}; the columns are {', '.join(names) or 'none'}"
        )
    return None


def _coordinate(value: Any, what: str, low: float, high: float, high_open: bool) -> tuple[float | None, str]:
    """Return (degrees, "") or (None, reason)."""
    if np.ma.is_masked(value):
        return None, f"{what} is empty"
    text = cell_text(value)
    if text == "":
        return None, f"{what} is empty"
    try:
        number = float(value) if isinstance(value, int | float | np.number) else float(text)
    except (TypeError, ValueError):
        return None, f"{what} {text!r} is not a number"
    if not math.isfinite(number):
        return None, f"{what} {text} is not a finite number"
    inside = low <= number < high if high_open else low <= number <= high
    if not inside:
        interval = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        return None, f"{what} {text} is outside {interval} degrees"
    return number, ""


def read_catalog(
    path: str | os.PathLike[str],
    *,
    ra_column: str | None = None,
    dec_column: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
) -> Catalog:
    """Read a catalogue of candidates and check every row.

    Parameters
    ----------
    path : path-like
        CSV (``.csv``), ECSV, FITS table (``.fits``, ``.fit``, ``.fits.gz``), Parquet or
        VOTable (see :mod:`deepshadows.tables`), read with :meth:`astropy.table.Table.read`;
        astropy identifies the format of a file with another extension.
    ra_column, dec_column : str, optional
        Coordinate columns in degrees (matched case-insensitively); by default the first of
        ``ra``, ``ra_deg``, ``raj2000`` and ``dec``, ``dec_deg``, ``dej2000``, ``decj2000``.
    id_column : str, optional
        Identifier column; by default the first of ``id``, ``objid``, ``object_id``,
        ``coadd_object_id``, ``name``, and without any the data row number.
    label_column : str, optional
        Labels: a value of :data:`deepshadows.data.label_tables.LABEL_VALUES` (``1``/``lsbg``,
        ``0``/``artifact``, ...; any case), or ``-1``/``unknown``/empty. Without it every row is
        unlabelled (-1).

    Returns
    -------
    Catalog
        Valid rows and bad rows (ra not a finite number in [0, 360), dec not in [-90, 90],
        empty or repeated id, unknown label), each bad row with its reason.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, a named column is absent, there is no ra or dec
        column, or the table has no data rows. The message names the file and the column.
    """
    path = Path(path)
    table = read_table(path)
    columns = {
        "ra": find_column(table, path, "ra", ra_column),
        "dec": find_column(table, path, "dec", dec_column),
        "id": find_column(table, path, "id", id_column),
        "label": None if label_column is None else find_column(table, path, "label", label_column),
    }
    if len(table) == 0:
        raise InputError(f"{path}: the catalogue has no data rows")
    catalog = Catalog(path=path, columns=columns, n_rows=len(table), sha256=file_sha256(path), table=table)
    first: dict[str, int] = {}
    ra_col, dec_col = table[columns["ra"]], table[columns["dec"]]
    idents = catalog_ids(table, columns["id"])
    label_col = table[columns["label"]] if columns["label"] else None
    for index in range(len(table)):
        number = index + 1
        ident = idents[index]
        ra, ra_problem = _coordinate(ra_col[index], "ra", 0.0, 360.0, True)
        dec, dec_problem = _coordinate(dec_col[index], "dec", -90.0, 90.0, False)
        problems = [p for p in (ra_problem, dec_problem) if p]
        if not ident:
            problems.append("the id is empty")
        elif ident in first:
            problems.append(f"id {ident!r} repeats data row {first[ident]}")
        label = -1
        if label_col is not None:
            raw = cell_text(label_col[index])
            value = -1 if raw.lower().removesuffix(".0") in _UNLABELLED else label_value(raw)
            if value is None:
                problems.append(
                    f"label {raw!r} is not one of 1/0, lsbg/artifact, type2/type1, true/false (any case), "
                    "-1, unknown or empty"
                )
            else:
                label = value
        if problems:
            catalog.bad.append(
                BadRow(
                    number, ident, cell_text(ra_col[index]), cell_text(dec_col[index]), "; ".join(problems)
                )
            )
            continue
        first[ident] = number
        catalog.rows.append(CatalogRow(number, ident, float(ra), float(dec), label))  # type: ignore[arg-type]
    return catalog
