"""A plain id,label table of the user's works in evaluate, transfer and label as in finetune."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepshadows.cli.main import main
from deepshadows.data import Store
from deepshadows.data.label_file import read_labels
from deepshadows.errors import InputError
from deepshadows.labelling import LabelSession


def _table(path: Path, rows: dict[str, str]) -> Path:
    path.write_text("ID,Class,comment\n" + "".join(f"{k},{v},seen\n" for k, v in rows.items()))
    return path


@pytest.fixture
def table(store: Path, tmp_path: Path) -> Path:
    """The store's LSBGs called artifacts and four of its artifacts called LSBGs: 12 + 4 objects."""
    with Store(store) as s:
        pairs = list(zip([str(i) for i in s.ids], s.labels.tolist(), strict=True))
    lsbgs = [i for i, y in pairs if y == 1][:12]
    artifacts = [i for i, y in pairs if y == 0][:4]
    rows = {**dict.fromkeys(lsbgs, "artifact"), **dict.fromkeys(artifacts, "LSBG")}
    return _table(tmp_path / "mine.csv", rows)


def test_evaluate_scores_the_objects_of_a_label_table(store, model_dir, table, capsys) -> None:
    argv = ["evaluate", str(model_dir), "--data", str(store), "--labels", str(table), "--n-boot", "20"]
    assert main(argv) == 0
    metrics = json.loads((model_dir / "evaluation_labelled" / "metrics.json").read_text())
    assert metrics["extra"]["split"] == "labelled"
    assert metrics["extra"]["labelled"]["labels"] == str(table)
    assert metrics["support"] == {"artifact": 12, "lsbg": 4}  # the table's labels, not the store's
    assert "probabilities:" in capsys.readouterr().out


def test_transfer_draws_its_samples_from_a_label_table(store, model_dir, table, tmp_path, capsys) -> None:
    out = tmp_path / "transfer"
    argv = ["transfer", str(model_dir), "--data", str(store), "--out", str(out), "--labels", str(table)]
    assert main([*argv, "--epochs", "1", "--n-boot", "20"]) == 0
    printed = capsys.readouterr().out
    assert "16 labelled objects" in printed and "fine-tuning on 4 and testing on 12" in printed
    settings = json.loads((out / "transfer.json").read_text())["settings"]
    assert (settings["n_finetune"], settings["n_test"]) == (4, 12)


def test_label_page_starts_from_the_labels_already_known(store, model_dir, tmp_path) -> None:
    known = _table(tmp_path / "known.csv", {"obj-3": "artifact", "obj-5": "1"})
    log = tmp_path / "labels.csv"
    session = LabelSession(store, model_dir, log, order="random", mc_samples=2, known=known)
    assert read_labels(log) == {"obj-3": 0, "obj-5": 1}
    assert session.state == {"obj-3": "artifact", "obj-5": "lsbg"}
    # Opening again with the same table writes nothing twice.
    LabelSession(store, model_dir, log, order="random", mc_samples=2, known=known)
    assert len(log.read_text().splitlines()) == 3
    with pytest.raises(InputError, match="row 2"):
        LabelSession(store, model_dir, log, known=_table(tmp_path / "bad.csv", {"obj-1": "maybe"}))
