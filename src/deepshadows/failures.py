"""Rows a batch command could not process, listed beside its output in ``<out>.failures.csv``.

``fetch``, ``import`` and ``predict`` go on past a row they cannot read or download, and
``study`` past a run that fails: the other rows are processed, and each failed row is listed
with its reason in one CSV file beside the output. Its columns are ``row`` (the row's number in
the input, from 1), ``id``, where the row came from (``ra, dec`` for ``fetch``; ``file`` for
``import`` and ``predict``; ``run_dir`` for ``study``) and ``reason``.
The command line then exits with status 3 (see :mod:`deepshadows.cli.main`). ``fetch`` also
writes the catalogue's own rows that failed, in the catalogue's format, to fetch them again (see
:func:`deepshadows.fetch.output.write_failed_catalog`).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepshadows._io import atomic_path, beside
from deepshadows.errors import InputError

__all__ = [
    "FailedRow",
    "failed_row",
    "failure_columns",
    "failure_record",
    "failures_path",
    "read_failures",
    "write_failures",
]


@dataclass(frozen=True)
class FailedRow:
    """A row of an input that was not processed, with the reason.

    Parameters
    ----------
    row : int
        Number of the row in the input, from 1 (the position of the file in a folder, or the
        data row of a labels CSV).
    ident : str
        Identifier of the row.
    file : str
        The file that could not be read.
    reason : str
        Why it was not processed.
    """

    row: int
    ident: str
    file: str
    reason: str

    @property
    def message(self) -> str:
        """The one-line error message: ``<file>: <reason>``."""
        return f"{self.file}: {self.reason}"


def failed_row(row: int, ident: str, file: str | os.PathLike[str], error: Exception) -> FailedRow:
    """Return the failure record of an error raised while reading one row.

    Parameters
    ----------
    row : int
        Number of the row in the input, from 1.
    ident : str
        Identifier of the row.
    file : path-like
        The file read.
    error : Exception
        The error; a leading ``"<file>: "`` is dropped from its message, as the file has its
        own column.

    Returns
    -------
    FailedRow
        The record; its ``message`` is the error's message.
    """
    text, prefix = str(error), f"{file}: "
    return FailedRow(int(row), str(ident), str(file), text.removeprefix(prefix))


def failures_path(out: str | os.PathLike[str]) -> Path:
    """Return the file listing the rows of an output that failed: ``<out>.failures.csv``.

    Parameters
    ----------
    out : path-like
        The output (store or CSV file).

    Returns
    -------
    pathlib.Path
        ``<out>.failures.csv`` beside it.
    """
    return beside(out, ".failures.csv")


def failure_columns(kind: type) -> list[str]:
    """Return the CSV header of a failure record type: its fields, ``ident`` written ``id``.

    Parameters
    ----------
    kind : type
        A dataclass whose fields start with ``row`` and ``ident`` and end with ``reason``, such
        as :class:`FailedRow` or :class:`deepshadows.fetch.BadRow`.

    Returns
    -------
    list of str
        The column names.
    """
    return ["id" if f.name == "ident" else f.name for f in dataclasses.fields(kind)]


def failure_record(bad: Any) -> list[Any]:
    """Return the CSV row of a failure record (its field values in order).

    Parameters
    ----------
    bad : dataclass instance
        A failure record (see :func:`failure_columns`).

    Returns
    -------
    list
        Its values, in the order of :func:`failure_columns`.
    """
    return [getattr(bad, f.name) for f in dataclasses.fields(bad)]


def write_failures(path: str | os.PathLike[str], failures: Sequence[Any]) -> Path | None:
    """Write the failures CSV atomically, or remove a stale one when there are none.

    Parameters
    ----------
    path : path-like
        The CSV file (see :func:`failures_path`).
    failures : sequence of FailedRow or BadRow
        Rows not processed, all of one record type, written in this order.

    Returns
    -------
    pathlib.Path or None
        The file, or None when ``failures`` is empty.
    """
    path = Path(path)
    if not failures:
        path.unlink(missing_ok=True)
        return None
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(failure_columns(type(failures[0])))
        writer.writerows(failure_record(bad) for bad in failures)
    return path


def read_failures(path: str | os.PathLike[str]) -> list[FailedRow]:
    """Read a failures CSV of ``import`` or ``predict`` (columns ``row, id, file, reason``).

    Parameters
    ----------
    path : path-like
        The CSV file.

    Returns
    -------
    list of FailedRow
        Its rows, in file order; an empty list when the file is absent or holds a header only.

    Raises
    ------
    deepshadows.errors.InputError
        If the file cannot be read or does not have those columns; the message names it.
    """
    path = Path(path)
    if not path.exists():
        return []
    expected = failure_columns(FailedRow)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return []
            if header != expected:
                raise InputError(
                    f"{path}: expected the columns {','.join(expected)} of a failures file, "
                    f"got {','.join(header)}"
                )
            return [FailedRow(int(r[0]), r[1], r[2], r[3]) for r in reader if len(r) == len(expected)]
    except InputError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise InputError(f"{path}: cannot read the failures file ({exc})") from exc
