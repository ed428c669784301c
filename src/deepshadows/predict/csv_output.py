"""The CSV output of prediction: its rows, and resuming a file left by an interrupted run."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.errors import InputError

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_BLOCK = 1 << 16


def _rows(
    ids: Sequence[str],
    probabilities: np.ndarray,
    threshold: float | None,
    uncertainty: np.ndarray | None = None,
) -> Iterable[list[Any]]:
    """Yield the CSV rows of a block; an ensemble's ``uncertainty`` is the last column."""
    if probabilities.ndim == 1:
        assert threshold is not None
        rows = (
            [ident, format(p, ".8g"), int(p > threshold)]
            for ident, p in zip(ids, probabilities.tolist(), strict=True)
        )
    else:
        labels = probabilities.argmax(axis=1).tolist()
        rows = (
            [ident, *(format(p, ".8g") for p in row), label]
            for ident, row, label in zip(ids, probabilities.tolist(), labels, strict=True)
        )
    if uncertainty is None:
        yield from rows
        return
    for row, spread in zip(rows, uncertainty.tolist(), strict=True):
        yield [*row, format(spread, ".8g")]


def _after_overlap(
    blocks: Iterable[tuple[list[str], Any]],
    last_id: str | None,
    done: int,
    partial: Path,
    input_path: str | os.PathLike[str],
) -> Iterator[tuple[list[str], Any]]:
    """Drop the row a resumed run re-reads, after checking its id against the last one written."""
    for ids, values in blocks:
        if last_id is not None:
            if ids[0] != last_id:
                raise InputError(
                    f"{partial}: row {done} has id {last_id!r} but row {done} of {input_path} "
                    f"is {ids[0]!r}; the partial output was made from another input, "
                    "rerun without --resume"
                )
            ids, values, last_id = ids[1:], values[1:], None
            if not ids:
                continue
        yield ids, values


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


def _resume_state(partial: Path, header: list[str]) -> tuple[int, str | None] | None:
    """Return the number of complete rows of an interrupted output and the last row's id.

    A trailing incomplete line is cut off first. Returns None when not even the header line is
    complete, so the file is to be rewritten.
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
            if first != header:
                raise InputError(
                    f"{partial}: cannot resume, its columns ({','.join(first)}) differ from this "
                    f"model's ({','.join(header)}); {hint}"
                )
            for record in reader:
                if len(record) != len(header):
                    raise InputError(
                        f"{partial}: cannot resume, line {reader.line_num} has {len(record)} fields, "
                        f"expected {len(header)}; {hint}"
                    )
                count += 1
                last_id = record[0]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{partial}: cannot resume, the file is not a readable CSV ({exc}); {hint}") from exc
    return count, last_id
