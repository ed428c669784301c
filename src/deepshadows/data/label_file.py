"""The label file: an append-only CSV of ``id,label,time`` records.

Every label is one appended line, flushed and synced to disk before the call returns, so a killed
process loses nothing that it acknowledged. A new file is created with its header under a
temporary name and renamed into place, so a file is never seen half-created. A line cut short by
a crash (no final newline) was never acknowledged: it is ignored on reading and cut off before the
next append.

Reading replays the records in order: the last record of an id wins, and an ``undo`` record of an
id takes back that id's latest label still in force (restoring what it had before). Labels are
``lsbg``, ``artifact`` and ``skip`` (looked at, not labelled).
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from deepshadows._io import atomic_path
from deepshadows.errors import InputError

__all__ = ["CLASS_OF", "LABELS", "UNDO", "LabelEvent", "LabelFile", "read_labels", "replay"]

#: Labels a record may carry besides ``undo``.
LABELS: tuple[str, ...] = ("lsbg", "artifact", "skip")
#: The label of a record that takes back an id's latest label.
UNDO = "undo"
#: Class index of each label that names a class (1 = LSBG, 0 = artifact, as in the store).
CLASS_OF: dict[str, int] = {"lsbg": 1, "artifact": 0}
_HEADER = ("id", "label", "time")


@dataclass(frozen=True)
class LabelEvent:
    """One record of the label file.

    Parameters
    ----------
    id : str
        The object's id in the store.
    label : str
        One of :data:`LABELS` or :data:`UNDO`.
    time : float
        Unix time of the record.
    """

    id: str
    label: str
    time: float


def replay(events: Iterable[LabelEvent]) -> tuple[dict[str, str], list[tuple[str, str | None]]]:
    """Return the labels in force after ``events`` and the stack of actions that undo can take back.

    Parameters
    ----------
    events : iterable of LabelEvent
        Records in file order.

    Returns
    -------
    labels : dict
        Label of each id that has one, in the order the labels were given.
    actions : list of (id, previous label or None)
        Labels still in force that can be undone, oldest first.
    """
    labels: dict[str, str] = {}
    actions: list[tuple[str, str | None]] = []
    for ev in events:
        if ev.label == UNDO:
            where = next((k for k in range(len(actions) - 1, -1, -1) if actions[k][0] == ev.id), None)
            if where is None:
                continue  # nothing of this id left to undo
            _, previous = actions.pop(where)
            labels.pop(ev.id, None)
            if previous is not None:
                labels[ev.id] = previous
            continue
        actions.append((ev.id, labels.get(ev.id)))
        labels.pop(ev.id, None)  # keep dict order = order of the labels in force
        labels[ev.id] = ev.label
    return labels, actions


class LabelFile:
    """An append-only label file.

    Parameters
    ----------
    path : path-like
        The CSV file; created (with its header) on the first append when absent.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> list[LabelEvent]:
        """Return the complete records of the file (none when it does not exist).

        Raises
        ------
        deepshadows.errors.InputError
            If the header is not ``id,label,time`` or a complete row is malformed; the message
            names the file and the row.
        """
        if not self.path.exists():
            return []
        text = self.path.read_bytes().decode("utf-8", errors="strict")
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # an unacknowledged line cut short by a crash
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return []
        if tuple(rows[0]) != _HEADER:
            raise InputError(
                f"{self.path}: row 1: expected the header id,label,time, got {','.join(rows[0])}"
            )
        events = []
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != 3 or not row[0] or row[1] not in (*LABELS, UNDO):
                raise InputError(
                    f"{self.path}: row {number}: expected id,label,time with a label in "
                    f"{', '.join((*LABELS, UNDO))}, got {','.join(row)}"
                )
            try:
                stamp = float(row[2])
            except ValueError:
                raise InputError(f"{self.path}: row {number}: time {row[2]!r} is not a number") from None
            events.append(LabelEvent(row[0], row[1], stamp))
        return events

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerow(_HEADER)
            fh.flush()
            os.fsync(fh.fileno())

    def _cut_torn_line(self) -> None:
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, object_id: str, label: str, *, stamp: float | None = None) -> LabelEvent:
        """Append one record and sync it to disk.

        Parameters
        ----------
        object_id : str
            The object's id.
        label : str
            One of :data:`LABELS` or :data:`UNDO`.
        stamp : float, optional
            Unix time of the record (default: now).

        Returns
        -------
        LabelEvent
            The record written.

        Raises
        ------
        deepshadows.errors.InputError
            For an empty id, an id with a line break, or an unknown label.
        """
        if label not in (*LABELS, UNDO):
            raise InputError(f"label: choose from {', '.join((*LABELS, UNDO))}, got {label!r}")
        if not object_id or any(c in object_id for c in "\r\n"):
            raise InputError(f"id: must be a non-empty single line, got {object_id!r}")
        if not self.path.exists():
            self._create()
        else:
            self._cut_torn_line()
        event = LabelEvent(object_id, label, time.time() if stamp is None else float(stamp))
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow((event.id, event.label, f"{event.time:.3f}"))
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            fh.write(line.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        return event

    def labels(self) -> dict[str, str]:
        """Return the label in force of every labelled id (see :func:`replay`)."""
        return replay(self.read())[0]


def read_labels(path: str | os.PathLike[str]) -> dict[str, int]:
    """Return the class (1 = LSBG, 0 = artifact) of every id labelled as one in a label file.

    Skipped and undone objects are left out.

    Parameters
    ----------
    path : path-like
        The label file.

    Returns
    -------
    dict
        Class of each labelled id, in the order the labels were given.

    Raises
    ------
    deepshadows.errors.InputError
        If the file does not exist or is malformed.
    """
    lf = LabelFile(path)
    if not lf.path.is_file():
        raise InputError(f"{lf.path}: label file not found")
    return {k: CLASS_OF[v] for k, v in lf.labels().items() if v in CLASS_OF}
