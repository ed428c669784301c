"""A FITS binary table written block by block, for prediction tables of any length.

The number of rows is known before the first row is written (it is counted in the partial CSV),
so the header is final from the start: an empty primary HDU, then a ``BINTABLE`` extension whose
rows are appended as big-endian records, padded to the 2,880-byte FITS block at the end. Memory
holds one block; astropy, TOPCAT and fitsio read the result as any binary table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from deepshadows.predict.columns import Column

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_BLOCK = 2880
_FORMATS = {"f4": "E", "f8": "D", "i1": "I", "i2": "I", "i4": "J", "i8": "K", "u1": "B", "u2": "J", "u4": "K"}


def _fits_column(col: Column) -> tuple[str, np.dtype]:
    """Return the TFORM of a column and the big-endian dtype of its values in a record."""
    kind = col.dtype.kind
    if kind == "U":
        width = col.dtype.itemsize // 4
        return f"{width}A", np.dtype(f"S{width}")
    if kind == "S":
        return f"{col.dtype.itemsize}A", np.dtype(f"S{col.dtype.itemsize}")
    if kind == "b":
        return "I", np.dtype(">i2")
    code = f"{kind}{col.dtype.itemsize}"
    if code not in _FORMATS:
        raise ValueError(f"column {col.name!r}: cannot write dtype {col.dtype} to FITS")
    tform = _FORMATS[code]
    big = {"E": ">f4", "D": ">f8", "I": ">i2", "J": ">i4", "K": ">i8", "B": "u1"}[tform]
    return tform, np.dtype(big)


def _card(key: str, value: Any) -> tuple[str, Any]:
    """Return a header card value: numbers, booleans and text as they are, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return key, value
    return key, str(value)


class FitsSink:
    """Write a binary table of ``n_rows`` rows to ``path``, block by block.

    Parameters
    ----------
    path : pathlib.Path
        The file to write (a temporary name: the caller renames it).
    columns : sequence of Column
        Names, dtypes (strings of a fixed width), units and descriptions (written as ``TCOMMn``).
    meta : mapping
        Keywords (up to 8 characters) written in the table's header and the primary header.
    n_rows : int
        Rows the caller will write.
    """

    def __init__(self, path: Path, columns: Sequence[Column], meta: Mapping[str, Any], n_rows: int) -> None:
        self.columns = list(columns)
        forms = [_fits_column(c) for c in self.columns]
        self._record = np.dtype([(c.name, big) for c, (_, big) in zip(self.columns, forms, strict=True)])
        defs = [
            fits.Column(name=c.name, format=tform, unit=c.unit or None)
            for c, (tform, _) in zip(self.columns, forms, strict=True)
        ]
        header = fits.BinTableHDU.from_columns(defs, nrows=0).header
        header["NAXIS2"] = int(n_rows)
        for k, col in enumerate(self.columns, start=1):
            if col.description:
                header[f"TCOMM{k}"] = col.description
        primary = fits.PrimaryHDU().header
        for key, value in meta.items():
            header[key] = _card(key, value)[1]
            primary[key] = _card(key, value)[1]
        if header["NAXIS1"] != self._record.itemsize:
            raise AssertionError(
                f"row of {header['NAXIS1']} bytes in the header, {self._record.itemsize} packed"
            )
        self.n_rows, self.written = int(n_rows), 0
        self._fh = open(path, "wb")  # noqa: SIM115
        self._fh.write(primary.tostring().encode("ascii"))
        self._fh.write(header.tostring().encode("ascii"))

    def write(self, block: Mapping[str, Any]) -> None:
        """Append the rows of a block (``{column: array}``)."""
        n = len(block[self.columns[0].name])
        if self.written + n > self.n_rows:
            raise ValueError(f"more rows than the {self.n_rows} announced in the FITS header")
        records = np.zeros(n, dtype=self._record)
        for col in self.columns:
            values = np.asarray(block[col.name])
            if values.dtype.kind == "U":
                values = np.char.encode(values, "utf-8")
            records[col.name] = values
        self._fh.write(records.tobytes())
        self.written += n

    def close(self) -> None:
        """Pad the data to a whole FITS block and close the file."""
        if self._fh.closed:
            return
        data_bytes = self.written * self._record.itemsize
        self._fh.write(b"\0" * (-data_bytes % _BLOCK))
        self._fh.close()
