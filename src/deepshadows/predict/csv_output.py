"""The CSV output of prediction: its rows, and resuming a file left by an interrupted run."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from deepshadows._io import atomic_path
from deepshadows.errors import InputError
from deepshadows.failures import FailedRow
from deepshadows.models.ensemble_combine import combine_member_logits
from deepshadows.predict.model_settings import _check_logits
from deepshadows.prediction_schema import legacy_header, read_as_current

if TYPE_CHECKING:
    from deepshadows.predict.failed_rows import _FailureLog
    from deepshadows.predict.inputs import Block

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_BLOCK = 1 << 16


def _rows(
    ids: Sequence[str],
    probabilities: np.ndarray,
    threshold: float | None,
    uncertainty: np.ndarray | None = None,
    uncalibrated: np.ndarray | None = None,
) -> Iterable[list[Any]]:
    """Yield the CSV rows of a block: id, probabilities, ``uncalibrated`` ones if given, label.

    An ensemble's ``uncertainty`` is the last column.
    """
    first = probabilities.reshape(len(ids), -1)
    values = first if uncalibrated is None else np.hstack([first, uncalibrated.reshape(len(ids), -1)])
    if probabilities.ndim == 1:
        assert threshold is not None
        labels = [int(p > threshold) for p in probabilities.tolist()]
    else:
        labels = probabilities.argmax(axis=1).tolist()
    rows = (
        [ident, *(format(p, ".8g") for p in row), label]
        for ident, row, label in zip(ids, values.tolist(), labels, strict=True)
    )
    if uncertainty is None:
        yield from rows
        return
    for row, spread in zip(rows, uncertainty.tolist(), strict=True):
        yield [*row, format(spread, ".8g")]


def _after_overlap(
    blocks: Iterable[tuple[list[str], Any, list[FailedRow]]],
    last_id: str | None,
    resume_at: int,
    partial: Path,
    input_path: str | os.PathLike[str],
) -> Iterator[tuple[list[str], Any, list[FailedRow]]]:
    """Drop what a resumed run re-reads, after checking the overlap row's id against the last one written.

    A resumed run starts at the last row written (``last_id``), so its first row read is that
    row; the failures of rows before ``resume_at`` (0-based), already recorded, are dropped.
    """
    for ids, values, failures in blocks:
        failures = [bad for bad in failures if bad.row > resume_at]
        if last_id is not None and ids:
            if ids[0] != last_id:
                raise InputError(
                    f"{partial}: its last row has id {last_id!r} but the matching row of {input_path} "
                    f"is {ids[0]!r}; the partial output was made from another input, "
                    "rerun without --resume"
                )
            ids, values, last_id = ids[1:], values[1:], None
        if ids or failures:
            yield ids, values, failures


def _truncate_to_last_newline(path: Path) -> None:
    """Cut a file after its last newline, dropping a line left incomplete by an interruption."""
    with open(path, "r+b") as fh:
        pos = fh.seek(0, os.SEEK_END)
        while pos > 0:
            step = min(_BLOCK, pos)
            fh.seek(pos - step)
            at = fh.read(step).rfind(b"\n")
            if at >= 0:
                fh.truncate(pos - step + at + 1)
                return
            pos -= step
        fh.truncate(0)


def _rename_header(partial: Path, header: Sequence[str]) -> None:
    """Replace the first line of a CSV file by ``header``, keeping its other lines."""
    with atomic_path(partial) as tmp:
        with open(partial, "rb") as src, open(tmp, "wb") as dst:
            src.readline()
            line = io.StringIO()
            csv.writer(line, lineterminator="\n").writerow(header)
            dst.write(line.getvalue().encode("utf-8"))
            shutil.copyfileobj(src, dst, _BLOCK)


def _resume_state(partial: Path, header: list[str]) -> tuple[int, str | None, list[str]] | None:
    """Return the number of complete rows of an interrupted output, the last row's id and its header.

    A trailing incomplete line is cut off first. Returns None when not even the header line is
    complete, so the file is to be rewritten. A file written by an earlier version with calibrated
    probabilities (``calibrated_probability``, no uncalibrated column) is continued as it is:
    its header is renamed to today's names (:func:`deepshadows.prediction_schema.read_as_current`)
    and returned, without the uncalibrated columns of ``header``.
    """
    hint = "rerun without --resume to start over"
    _truncate_to_last_newline(partial)
    count, last_id = 0, None
    try:
        with open(partial, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            first = next(reader, None)
            if first is None:
                return None
            columns = header
            if first != header and first == legacy_header(header):
                columns = read_as_current(first)[0]
            elif first != header:
                raise InputError(
                    f"{partial}: cannot resume, its columns ({','.join(first)}) differ from this "
                    f"model's ({','.join(header)}); {hint}"
                )
            for record in reader:
                if len(record) != len(columns):
                    raise InputError(
                        f"{partial}: cannot resume, line {reader.line_num} has {len(record)} fields, "
                        f"expected {len(columns)}; {hint}"
                    )
                count += 1
                last_id = record[0]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{partial}: cannot resume, the file is not a readable CSV ({exc}); {hint}") from exc
    if columns is not header:
        _rename_header(partial, columns)
    return count, last_id, columns


@dataclass(frozen=True)
class _BlockWriter:
    """Classifies blocks of cutouts and writes their rows; records the rows that failed.

    ``classify`` gives the logits of uint8 cutouts (the members' logits for an ensemble), and
    ``to_probabilities`` turns logits into the probabilities written; ``uncalibrated``, when
    given, into the model's own ones written after them.
    """

    classify: Callable[[np.ndarray, int], np.ndarray]
    ensemble: bool
    batch_size: int
    n_classes: int
    model_path: str | os.PathLike[str]
    to_probabilities: Callable[[np.ndarray], np.ndarray]
    threshold: float | None
    strict: bool
    uncalibrated: Callable[[np.ndarray], np.ndarray] | None = None

    def forward(self, blocks: Iterable[Block]) -> Iterator[Block]:
        """Replace the cutouts of each block by their logits."""
        forward = self.classify.member_logits if self.ensemble else self.classify  # type: ignore[attr-defined]
        for ids, images, failures in blocks:
            yield ids, forward(images, self.batch_size) if ids else images, failures

    def write(self, blocks: Iterable[Block], writer: Any, fh: TextIO, log: _FailureLog, bar: Any) -> int:
        """Record each block's failures, then write its rows; return the rows written.

        With ``strict`` the first failure raises its error instead, before its block is written.
        """
        written = 0
        for ids, values, failures in blocks:
            self._take(ids, values, failures, writer, fh, log.add)
            written += len(ids)
            bar.update(len(ids) + len(failures))
        return written

    def retry(self, source: Any, rows: Sequence[FailedRow], writer: Any, fh: TextIO) -> list[FailedRow]:
        """Read failed rows again, write those now readable; return those that still fail."""
        still: list[FailedRow] = []
        for bad in rows:
            for ids, values, failures in self.forward(source.blocks(bad.row - 1, 1)):
                self._take(ids, values, failures, writer, fh, still.extend)
                break
        return still

    def _take(
        self,
        ids: list[str],
        values: np.ndarray,
        failures: list[FailedRow],
        writer: Any,
        fh: TextIO,
        record: Callable[[list[FailedRow]], object],
    ) -> None:
        """Hand a block's failures to ``record`` (with ``strict``, raise the first), then write its rows."""
        if failures and self.strict:
            raise InputError(failures[0].message)
        record(failures)
        if ids:
            self._write_rows(ids, values, writer)
            fh.flush()

    def _write_rows(self, ids: list[str], values: np.ndarray, writer: Any) -> None:
        logits, uncertainty = combine_member_logits(values)[::2] if self.ensemble else (values, None)
        _check_logits(logits, len(ids), self.n_classes, self.model_path)
        raw = None if self.uncalibrated is None else self.uncalibrated(logits)
        writer.writerows(_rows(ids, self.to_probabilities(logits), self.threshold, uncertainty, raw))
