"""Table files: their formats, told by the file's extension, and writing a whole table in one.

========== ======================== ===========================================================
format     extensions               astropy format
========== ======================== ===========================================================
csv        ``.csv``                 ``ascii.csv``
fits       ``.fits``, ``.fit``      ``fits`` (a binary table; ``.fits.gz`` is read too)
parquet    ``.parquet``             ``parquet`` (needs ``pyarrow``)
ecsv       ``.ecsv``                ``ascii.ecsv``
votable    ``.vot``                 ``votable``
========== ======================== ===========================================================

``predict`` writes its tables in these formats (:mod:`deepshadows.predict.table_output`), and
``fetch`` reads catalogues in them and writes the catalogue of the rows it could not fetch in
the catalogue's own format (:mod:`deepshadows.fetch.output`). :func:`markdown_table` lays out the
Markdown tables of the reports.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from astropy.utils.exceptions import AstropyWarning

from deepshadows.errors import InputError

__all__ = [
    "ASTROPY_FORMATS",
    "find_column_name",
    "markdown_table",
    "TABLE_FORMATS",
    "ECSV_START",
    "catalog_format",
    "cell_text",
    "first_line",
    "read_cells",
    "catalog_suffixes",
    "table_format",
    "write_astropy",
]

#: File name endings of each format (matched case-insensitively).
TABLE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "fits": (".fits", ".fit"),
    "parquet": (".parquet",),
    "ecsv": (".ecsv",),
    "votable": (".vot",),
}

#: Name of each format in astropy's unified table I/O.
ASTROPY_FORMATS: dict[str, str] = {
    "csv": "ascii.csv",
    "fits": "fits",
    "parquet": "parquet",
    "ecsv": "ascii.ecsv",
    "votable": "votable",
}

#: A compressed FITS table: read like ``.fits``.
_GZIPPED_FITS = ".fits.gz"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lay out a Markdown table: its header line, the ``|---|`` rule, then one line per row.

    Parameters
    ----------
    header : sequence of str
        The column titles.
    rows : iterable of sequence of str
        The cells of each row, already formatted (and escaped where they may hold ``|``).

    Returns
    -------
    list of str
        The table's lines, without line ends.
    """
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _known() -> str:
    return ", ".join(f"{name} ({' '.join(ends)})" for name, ends in TABLE_FORMATS.items())


def table_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """Return the format of a table file: ``fmt`` when given, else the one of its extension.

    Parameters
    ----------
    path : path-like
        The file.
    fmt : str, optional
        A key of :data:`TABLE_FORMATS`, overriding the extension (``--format``).

    Returns
    -------
    str
        A key of :data:`TABLE_FORMATS`.

    Raises
    ------
    deepshadows.errors.InputError
        If ``fmt`` is unknown, or it is None and the extension is not one of the known ones; the
        message lists them.
    """
    if fmt is not None:
        name = fmt.lower()
        if name not in TABLE_FORMATS:
            raise InputError(f"--format: unknown table format {fmt!r}; choose one of {_known()}")
        return name
    suffix = Path(path).suffix.lower()
    for name, endings in TABLE_FORMATS.items():
        if suffix in endings:
            return name
    raise InputError(
        f"{path}: cannot tell the output format from the extension {suffix or '(none)'!r}; "
        f"use one of {_known()}, or name it with --format"
    )


def catalog_format(path: str | os.PathLike[str]) -> str | None:
    """Return the format of a catalogue file by its extension, or None when it is not a known one.

    Parameters
    ----------
    path : path-like
        The file; ``.fits.gz`` counts as FITS.

    Returns
    -------
    str or None
        A key of :data:`TABLE_FORMATS`; None leaves the format to astropy's identification.
    """
    name = Path(path).name.lower()
    if name.endswith(_GZIPPED_FITS):
        return "fits"
    suffix = Path(name).suffix
    return next((fmt for fmt, endings in TABLE_FORMATS.items() if suffix in endings), None)


def catalog_suffixes() -> list[str]:
    """Return the file name endings whose format :func:`catalog_format` knows.

    Returns
    -------
    list of str
        Endings such as ``.csv``, ``.fits`` and ``.fits.gz``, lower case.
    """
    return [end for endings in TABLE_FORMATS.values() for end in endings] + [_GZIPPED_FITS]


def write_astropy(table: Table, path: str | os.PathLike[str], fmt: str) -> None:
    """Write a whole table with astropy in one of the formats of :data:`TABLE_FORMATS`.

    The keywords of a VOTable (``table.meta``) become ``INFO`` elements of its resource.

    Parameters
    ----------
    table : astropy.table.Table
        The table.
    path : path-like
        The file, replaced if it exists (written as it is: wrap the call in
        :func:`deepshadows._io.atomic_path` for an atomic write).
    fmt : str
        A key of :data:`TABLE_FORMATS`; the extension of ``path`` is not looked at.
    """
    if fmt != "votable":
        table.write(path, format=ASTROPY_FORMATS[fmt], overwrite=True)
        return
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    votable = from_table(table)
    for key, value in table.meta.items():
        if isinstance(value, str | int | float | bool):
            votable.resources[0].infos.append(Info(name=str(key), value=str(value)))
    votable.to_xml(str(path))


def find_column_name(
    names: Sequence[str],
    given: str | None,
    aliases: Sequence[str],
    *,
    path: str | os.PathLike[str],
    option: str,
) -> str | None:
    """Return a table's column: the one the user named (any case), or the first alias present.

    Parameters
    ----------
    names : sequence of str
        The table's column names.
    given : str or None
        The name the user gave, matched exactly first, then case-insensitively.
    aliases : sequence of str
        Lower-case names tried in order when nothing was given.
    path : path-like
        The table's file, for the message.
    option : str
        The option that names the column (``--ra-column``), for the message.

    Returns
    -------
    str or None
        The column's name as the table spells it; None when no alias is present.

    Raises
    ------
    deepshadows.errors.InputError
        If a given name is not a column; the message lists the columns.
    """
    lower = {name.lower(): name for name in reversed(names)}
    if given is not None:
        if given in names:
            return given
        if given.lower() in lower:
            return lower[given.lower()]
        raise InputError(
            f"{path}: no column {given!r} ({option}); the columns are {', '.join(names) or 'none'}"
        )
    return next((lower[alias] for alias in aliases if alias in lower), None)


def _read_csv_cells(path: Path, what: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Return the header, the cells by column and the line of each row of CSV text (see :func:`read_cells`).

    Blank lines and lines starting with ``#`` are skipped; every row must have as many values as
    the header.
    """
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
        raise InputError(f"{path}: not a UTF-8 text file; a .csv {what} must be CSV text") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from exc
    if header is None:
        raise InputError(f"{path}: the {what} has no header line")
    columns = [[record[k] for record in records] for k in range(len(header))]
    return header, columns, rows


def _read_table_cells(path: Path, fmt: str | None, what: str) -> tuple[list[str], list[list[Any]], list[int]]:
    """Return the column names, the cells by column and the row numbers of a table astropy reads.

    ``fmt`` is the astropy format (None: let astropy identify it). Columns of more than one
    value per row are left out; masked cells are None.
    """
    try:
        with warnings.catch_warnings():
            # Unit strings and similar metadata problems do not matter for labels.
            warnings.simplefilter("ignore", AstropyWarning)
            table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except Exception as exc:  # astropy raises many kinds for unreadable input
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: cannot read the {what} ({detail}); use CSV, ECSV or FITS, a file ending "
            f"in {', '.join(catalog_suffixes())}"
        ) from exc
    names = [name for name in table.colnames if table[name].ndim == 1]
    return names, [_cells(table[name]) for name in names], list(range(1, len(table) + 1))


def _cells(column: Any) -> list[Any]:
    """Return a table column's values as Python objects, None where masked."""
    values = np.asarray(column).tolist()
    mask = np.ma.getmaskarray(column)
    return [None if masked else value for value, masked in zip(values, mask.tolist(), strict=True)]


#: How an ECSV file begins; a ``.csv`` file that begins so is read as ECSV.
ECSV_START = "# %ECSV"


def first_line(path: Path) -> str:
    """Return the first line of a file as stripped text.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        Its first line (replacement characters for binary files; ``""`` for an empty file).
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    return head.decode("utf-8-sig", errors="replace").splitlines()[0].strip() if head.strip() else ""


def read_cells(
    path: Path, what: str = "table", *, unknown_as_csv: bool = False
) -> tuple[list[str], list[list[Any]], list[int], bool]:
    """Read a table's cells: CSV text with its line numbers, anything else by astropy.

    A ``.csv`` file that begins as ECSV is read as ECSV.

    Parameters
    ----------
    path : pathlib.Path
        The table (CSV, ECSV, FITS, VOTable, ...).
    what : str, optional
        What the file is, for error messages.
    unknown_as_csv : bool, optional
        Read a file of an unknown extension as CSV (or ECSV) text rather than let astropy
        identify it.

    Returns
    -------
    names : list of str
        The column names.
    columns : list of list
        The cells of each column.
    rows : list of int
        Each row's line in a CSV file, or its data row number from 1.
    csv_text : bool
        Whether the file was read as CSV text (``rows`` are then lines).

    Raises
    ------
    deepshadows.errors.InputError
        If the file cannot be read; the message names it and the line.
    """
    known = catalog_format(path)
    text = known == "csv" or (known is None and unknown_as_csv)
    if text and not first_line(path).startswith(ECSV_START):
        return (*_read_csv_cells(path, what), True)
    fmt = "ascii.ecsv" if text else None if known is None else ASTROPY_FORMATS[known]
    return (*_read_table_cells(path, fmt, what), False)


def cell_text(value: Any) -> str:
    """Return a table cell as stripped text.

    Parameters
    ----------
    value : object
        The cell: text, bytes, a number, None or a masked value.

    Returns
    -------
    str
        The text, ``""`` for an empty, None or masked cell.
    """
    if value is None or np.ma.is_masked(value):
        return ""
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()
