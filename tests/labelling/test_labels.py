from __future__ import annotations

import pytest

from deepshadows.data.label_file import LabelEvent, replay
from deepshadows.errors import InputError
from deepshadows.labelling import LabelFile, read_labels


def test_append_read_and_last_write_wins(tmp_path):
    lf = LabelFile(tmp_path / "labels.csv")
    lf.append("a", "lsbg")
    lf.append("b", "artifact")
    lf.append("a", "artifact")
    assert lf.labels() == {"b": "artifact", "a": "artifact"}
    assert (tmp_path / "labels.csv").read_text().splitlines()[0] == "id,label,time"
    assert read_labels(tmp_path / "labels.csv") == {"b": 0, "a": 0}


def test_undo_restores_the_previous_label():
    ev = [LabelEvent(*x, 0.0) for x in [("a", "lsbg"), ("b", "skip"), ("a", "artifact"), ("a", "undo")]]
    labels, actions = replay(ev)
    assert labels == {"a": "lsbg", "b": "skip"}
    labels, _ = replay([*ev, LabelEvent("b", "undo", 0), LabelEvent("a", "undo", 0)])
    assert labels == {}
    assert replay([LabelEvent("x", "undo", 0)])[0] == {}
    assert [a[0] for a in actions] == ["a", "b"]


def test_torn_last_line_is_ignored_and_cut(tmp_path):
    path = tmp_path / "labels.csv"
    lf = LabelFile(path)
    lf.append("a", "lsbg")
    with path.open("a") as fh:
        fh.write("b,artif")  # a crash in the middle of a write
    assert lf.labels() == {"a": "lsbg"}
    lf.append("c", "skip")
    assert lf.labels() == {"a": "lsbg", "c": "skip"}
    assert "artif" not in path.read_text()


def test_bad_rows_name_file_and_row(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("id,label,time\na,lsbg,1\nb,maybe,2\n")
    with pytest.raises(InputError, match=r"labels.csv: row 3"):
        LabelFile(path).read()
    path.write_text("name,label\n")
    with pytest.raises(InputError, match="row 1"):
        LabelFile(path).read()
    with pytest.raises(InputError, match="label"):
        LabelFile(tmp_path / "x.csv").append("a", "maybe")
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "missing.csv")
