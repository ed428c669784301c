"""Prediction tables in every format: the columns, and streaming the rows from the partial CSV.

Prediction always appends its rows to ``<out>.partial`` as CSV (that is what ``resume``
continues). When the output is plain CSV this file is renamed to ``<out>``; otherwise
:func:`write_predictions` reads it back block by block, adds the columns taken from the store
(``ra``, ``dec``, chosen features or truth columns) and writes the requested format, atomically.
CSV, FITS and Parquet are streamed, so memory holds one block whatever the number of rows; ECSV
and VOTable are written by astropy from a table held in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.table import Table

from deepshadows._io import atomic_path
from deepshadows.errors import InputError
from deepshadows.predict.columns import Column, prediction_columns
from deepshadows.prediction_schema import legacy_header
from deepshadows.tables import ASTROPY_FORMATS, write_astropy

if TYPE_CHECKING:
    from deepshadows.predict.store_columns import StoreColumns

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_CHUNK_ROWS = 1 << 16


def scan_partial(partial: Path) -> tuple[int, int]:
    """Return the number of data rows of a prediction CSV and the longest id in UTF-8 bytes."""
    n, width = 0, 1
    with open(partial, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for record in reader:
            n += 1
            width = max(width, len(record[0].encode("utf-8")))
    return n, width


def read_partial(
    partial: Path, header: Sequence[str], chunk_rows: int = _CHUNK_ROWS
) -> Iterator[dict[str, Any]]:
    """Yield the rows of a prediction CSV in blocks, as ``{column: array}`` (floats as float64)."""

    def block(records: list[list[str]]) -> dict[str, Any]:
        fields = list(zip(*records, strict=True)) if records else [() for _ in header]
        out: dict[str, Any] = {}
        for name, values in zip(header, fields, strict=True):
            if name == "id":
                out[name] = np.asarray(values, dtype=str)
            elif name == "label":
                out[name] = np.asarray(values, dtype=np.int64)
            else:
                out[name] = np.asarray(values, dtype=np.float64)
        return out

    with open(partial, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        if next(reader, None) != list(header):
            raise InputError(f"{partial}: the partial output does not have the columns {','.join(header)}")
        records: list[list[str]] = []
        for record in reader:
            records.append(record)
            if len(records) == chunk_rows:
                yield block(records)
                records = []
        if records:
            yield block(records)


def table_meta(columns: Sequence[Column], meta: Mapping[str, Any]) -> Table:
    """Return an empty astropy table with the columns' dtypes, units, descriptions and ``meta``."""
    table = Table(meta=dict(meta))
    for col in columns:
        table[col.name] = np.empty(0, dtype=col.dtype)
        table[col.name].unit = col.unit
        table[col.name].description = col.description or None
    return table


class _CsvSink:
    """CSV rows; probabilities keep the 8 significant digits of the partial file."""

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self._fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow([c.name for c in self.columns])

    def write(self, block: Mapping[str, Any]) -> None:
        texts = []
        for col in self.columns:
            values = block[col.name]
            if col.dtype.kind == "f" and col.dtype.itemsize == 4:
                texts.append([format(v, ".8g") for v in values.tolist()])
            elif values.dtype.kind == "S":
                texts.append(np.char.decode(values, "utf-8").tolist())
            else:
                texts.append(values.tolist())
        self._writer.writerows(zip(*texts, strict=True))

    def close(self) -> None:
        self._fh.close()


class _ParquetSink:
    """One Parquet row group per block, with the astropy metadata that keeps units and keywords."""

    def __init__(self, path: Path, columns: Sequence[Column], meta: Mapping[str, Any]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputError(
                f"{path.name}: Parquet output needs pyarrow; install it (pip install 'deepshadows[parquet]')"
            ) from exc
        from astropy.table import meta as table_yaml

        self._pa, self.columns = pa, list(columns)
        metadata = {"table_meta_yaml": "\n".join(table_yaml.get_yaml_from_table(table_meta(columns, meta)))}
        for col in columns:
            if col.dtype.kind in "SU":
                metadata[f"table::len::{col.name}"] = str(
                    col.dtype.itemsize // (4 if col.dtype.kind == "U" else 1)
                )
        fields = [
            pa.field(c.name, pa.string() if c.dtype.kind in "SU" else pa.from_numpy_dtype(c.dtype))
            for c in columns
        ]
        self.schema = pa.schema(fields, metadata={k.encode(): v.encode() for k, v in metadata.items()})
        self._writer = pq.ParquetWriter(path, self.schema)

    def write(self, block: Mapping[str, Any]) -> None:
        arrays = []
        for col in self.columns:
            values = block[col.name]
            if values.dtype.kind == "S":
                values = np.char.decode(values, "utf-8")
            arrays.append(
                self._pa.array(values.tolist() if col.dtype.kind in "SU" else values.astype(col.dtype))
            )
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self._writer.close()


class _MemorySink:
    """Gathers every block, then writes the whole table with astropy (ECSV, VOTable)."""

    def __init__(self, path: Path, columns: Sequence[Column], meta: Mapping[str, Any], fmt: str) -> None:
        self.path, self.columns, self.meta, self.fmt = path, list(columns), dict(meta), fmt
        self._blocks: list[Mapping[str, Any]] = []

    def write(self, block: Mapping[str, Any]) -> None:
        self._blocks.append(block)

    def close(self) -> None:
        write_astropy(self.table(), self.path, self.fmt)

    def table(self) -> Table:
        """Return the rows gathered so far as an astropy table with units and keywords."""
        if not self._blocks:
            return table_meta(self.columns, self.meta)
        table = Table(meta=dict(self.meta))
        for col in self.columns:
            values = np.concatenate([b[col.name] for b in self._blocks])
            if values.dtype.kind == "S":
                values = np.char.decode(values, "utf-8")
            table[col.name] = values.astype(str) if col.dtype.kind in "SU" else values.astype(col.dtype)
            table[col.name].unit = col.unit
            table[col.name].description = col.description or None
        return table


def _open_sink(path: Path, fmt: str, columns: Sequence[Column], meta: Mapping[str, Any], n_rows: int) -> Any:
    if fmt == "csv":
        return _CsvSink(path, columns)
    if fmt == "fits":
        from deepshadows.predict.fits_output import FitsSink

        return FitsSink(path, columns, meta, n_rows)
    if fmt == "parquet":
        return _ParquetSink(path, columns, meta)
    return _MemorySink(path, columns, meta, fmt)


def output_columns(header: Sequence[str], id_width: int, extra: StoreColumns | None) -> list[Column]:
    """Return the columns of the output: id, ra and dec when known, predictions, chosen store columns."""
    columns = prediction_columns(header, id_width)
    if extra is None:
        return columns
    positions = [c for c in extra.columns if c.name in ("ra", "dec")]
    others = [c for c in extra.columns if c.name not in ("ra", "dec")]
    return [columns[0], *positions, *columns[1:], *others]


def write_predictions(
    partial: Path,
    out: Path,
    fmt: str,
    header: Sequence[str],
    *,
    extra: StoreColumns | None = None,
    meta: Mapping[str, Any] | None = None,
    chunk_rows: int = _CHUNK_ROWS,
) -> int:
    """Write the prediction CSV ``partial`` to ``out`` in format ``fmt``, with the store's columns added.

    Parameters
    ----------
    partial : pathlib.Path
        The complete prediction CSV (columns ``header``).
    out : pathlib.Path
        The output, written atomically.
    fmt : str
        A key of :data:`deepshadows.tables.TABLE_FORMATS`.
    header : sequence of str
        The prediction columns.
    extra : StoreColumns, optional
        Columns of the store to add, row by row (its rows are the prediction's, checked by id).
    meta : mapping, optional
        Keywords of the table (FITS header cards, table metadata elsewhere).
    chunk_rows : int, optional
        Rows per block.

    Returns
    -------
    int
        Rows written.
    """
    n_rows, id_width = scan_partial(partial)
    columns = output_columns(header, id_width, extra)
    written = 0
    with atomic_path(out) as tmp:
        sink = _open_sink(tmp, fmt, columns, meta or {}, n_rows)
        try:
            for block in read_partial(partial, header, chunk_rows):
                if extra is not None:
                    block = {**block, **extra.read(written, block["id"])}
                sink.write(block)
                written += len(block["id"])
        finally:
            sink.close()
        if written != n_rows:
            raise InputError(
                f"{partial}: changed while it was written to {out} ({written} rows, then {n_rows})"
            )
    return written


def read_predictions(partial: Path, header: Sequence[str], *, extra: StoreColumns | None = None) -> Table:
    """Return the prediction CSV ``partial``, with the store's columns added, as one astropy table."""
    _, id_width = scan_partial(partial)
    sink = _MemorySink(partial, output_columns(header, id_width, extra), {}, "ecsv")
    written = 0
    for block in read_partial(partial, header):
        sink.write(block if extra is None else {**block, **extra.read(written, block["id"])})
        written += len(block["id"])
    return sink.table()


def _columns_of(out: Path, header: Sequence[str], names: Sequence[str]) -> Sequence[str]:
    """Return ``header``, or the names an earlier version wrote for it, as ``names`` has them."""
    missing = [name for name in header if name not in names]
    legacy = legacy_header(header)
    if missing and legacy is not None and all(name in names for name in legacy):
        return legacy
    if missing:
        raise InputError(f"{out}: cannot resume, it has no column {', '.join(missing)}")
    return header


def reopen_output(out: Path, partial: Path, header: Sequence[str], fmt: str) -> None:
    """Write the prediction columns of a finished output to ``partial``, to continue it.

    CSV is read row by row; other formats are read whole by astropy. An output written by an
    earlier version with calibrated probabilities (``calibrated_probability``, no uncalibrated
    column) keeps its names in ``partial``, whose resumption reads them as today's.

    Raises
    ------
    deepshadows.errors.InputError
        If the output lacks one of the prediction columns.
    """
    if fmt == "csv":
        with open(out, newline="", encoding="utf-8") as src:
            reader = csv.reader(src)
            names = next(reader, [])
            header = _columns_of(out, header, names)
            picks = [names.index(name) for name in header]
            with open(partial, "w", newline="", encoding="utf-8") as dst:
                writer = csv.writer(dst, lineterminator="\n")
                writer.writerow(header)
                writer.writerows([record[i] for i in picks] for record in reader)
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        data = pq.read_table(out)
        table = Table({name: data[name].to_numpy(zero_copy_only=False) for name in data.column_names})
    else:
        table = Table.read(out, format=ASTROPY_FORMATS[fmt])
    header = _columns_of(out, header, table.colnames)
    with open(partial, "w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(header)
        for row in table.iterrows(*header):
            writer.writerow(
                [v if isinstance(v, str | int | np.integer) else format(float(v), ".8g") for v in row]
            )
