"""The rows of a prediction whose image could not be read: their file, and resuming past them.

While a prediction runs, the failed rows are appended to ``<out>.failures.csv.partial`` (columns
of :mod:`deepshadows.failures`) *before* the classified rows of the same block are appended to
``<out>.partial``. So, after an interruption, the rows written to the output and the failures
recorded say together how far the input was read: the first ``p`` rows of the input hold exactly
as many readable rows as the output has, plus failures that are recorded (see
:func:`_resume_point`). Failures recorded past that point are dropped and found again.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from deepshadows._io import partial_path
from deepshadows.failures import (
    FailedRow,
    failure_columns,
    failure_record,
    failures_path,
    read_failures,
    write_failures,
)
from deepshadows.predict.csv_output import _truncate_to_last_newline

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []


class _FailureLog:
    """The failures of one prediction, appended to ``<out>.failures.csv.partial`` as they come.

    Parameters
    ----------
    out : pathlib.Path
        The output CSV.
    keep : sequence of FailedRow
        Failures of an earlier, interrupted run that stay recorded.
    """

    def __init__(self, out: Path, keep: Sequence[FailedRow] = ()) -> None:
        self.final = failures_path(out)
        self.partial = partial_path(self.final)
        self.rows: list[FailedRow] = list(keep)
        self._fh: TextIO | None = open(self.partial, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(failure_columns(FailedRow))
        self._writer.writerows(failure_record(bad) for bad in self.rows)
        self._fh.flush()

    def add(self, failures: Iterable[FailedRow]) -> None:
        """Record failures and flush them to the file."""
        failures = list(failures)
        if failures and self._fh is not None:
            self._writer.writerows(failure_record(bad) for bad in failures)
            self._fh.flush()
            self.rows.extend(failures)

    def close(self) -> None:
        """Close the file, leaving the ``.partial`` for a later ``resume``."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self, rows: Sequence[FailedRow] | None = None) -> Path | None:
        """Write the final failures file (None and no file when nothing failed) and drop the partial.

        ``rows`` replaces the recorded failures (after failed rows were retried).
        """
        self.close()
        listed = write_failures(self.final, sorted(self.rows if rows is None else rows, key=lambda b: b.row))
        self.partial.unlink(missing_ok=True)
        return listed


def _reopen_finished(out: Path, partial: Path) -> None:
    """Make a finished output (and its failures) the partial files of a resumed run."""
    shutil.copyfile(out, partial)
    final = failures_path(out)
    if final.exists():
        shutil.copyfile(final, partial_path(final))
    else:
        partial_path(final).unlink(missing_ok=True)


def _recorded_failures(out: Path) -> list[FailedRow]:
    """Read the failures recorded by an interrupted run (a torn last line is cut off)."""
    partial = partial_path(failures_path(out))
    if not partial.exists():
        return []
    _truncate_to_last_newline(partial)
    return read_failures(partial)


def _resume_point(n_written: int, recorded: Sequence[FailedRow]) -> tuple[int, int | None, list[FailedRow]]:
    """Return how far an interrupted run read its input, from its output and its failures.

    Parameters
    ----------
    n_written : int
        Rows in the output.
    recorded : sequence of FailedRow
        Failures recorded (rows numbered from 1).

    Returns
    -------
    resume_at : int
        Rows of the input accounted for (0-based index of the next row to read).
    overlap : int or None
        0-based index of the last row written to the output, re-read to check its id (None
        when the output holds no row).
    kept : list of FailedRow
        The recorded failures before ``resume_at``, in row order.
    """
    by_index = {bad.row - 1: bad for bad in recorded}
    position, left = 0, int(n_written)
    overlap: int | None = None
    # Walk the input: a recorded failure takes a row, a written row takes the next readable one.
    while left or position in by_index:
        if position not in by_index:
            overlap, left = position, left - 1
        position += 1
    kept = [by_index[i] for i in sorted(by_index) if i < position]
    return position, overlap, kept
