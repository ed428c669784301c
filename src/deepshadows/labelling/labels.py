"""The labelling page's label file, kept in :mod:`deepshadows.data.label_file` with the other readers."""

from __future__ import annotations

from deepshadows.data.label_file import CLASS_OF, LABELS, UNDO, LabelEvent, LabelFile, read_labels, replay

__all__ = ["CLASS_OF", "LABELS", "UNDO", "LabelEvent", "LabelFile", "read_labels", "replay"]
