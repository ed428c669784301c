"""Formats of a prediction table, chosen by the output's extension as astropy's ``Table.write`` does.

========== ================= ==================================================================
format     extensions        written
========== ================= ==================================================================
csv        ``.csv``          streamed, row block by row block
fits       ``.fits``, ``.fit`` streamed into one binary table (units, model keywords in its header)
parquet    ``.parquet``      streamed, one row group per block (needs ``pyarrow``)
ecsv       ``.ecsv``         at the end, from a table held in memory
votable    ``.vot``          at the end, from a table held in memory
========== ================= ==================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from deepshadows.errors import InputError

__all__ = ["TABLE_FORMATS", "table_format"]

#: File name endings of each output format (matched case-insensitively).
TABLE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "fits": (".fits", ".fit"),
    "parquet": (".parquet",),
    "ecsv": (".ecsv",),
    "votable": (".vot",),
}


def _known() -> str:
    return ", ".join(f"{name} ({' '.join(ends)})" for name, ends in TABLE_FORMATS.items())


def table_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """Return the format of a prediction table: ``fmt`` when given, else the one of its extension.

    Parameters
    ----------
    path : path-like
        The output file.
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
