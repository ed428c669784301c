"""``finetune`` from a label file and ``active-learning-curve`` on a tiny store."""

from __future__ import annotations

import csv
import json

import pytest

from deepshadows.cli.main import main
from deepshadows.errors import InputError
from deepshadows.labelling import LabelFile, active_learning_curve, finetune_from_labels, labels_to_reach
from deepshadows.models import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _label(path, n):
    lf = LabelFile(path)
    for i in range(n):
        lf.append(f"obj-{i}", "lsbg" if i % 2 else "artifact")
    lf.append("obj-0", "skip")
    return path


def test_finetune_selects_the_labelled_rows_and_stops_early(store, model_dir, tmp_path):
    labels = _label(tmp_path / "labels.csv", 20)
    seen = []
    result = finetune_from_labels(
        model_dir,
        store,
        labels,
        tmp_path / "run2",
        epochs=4,
        patience=1,
        val_fraction=0.25,
        progress=seen.append,
    )
    assert result["n_train"] + result["n_val"] == 19  # obj-0 was skipped
    assert result["n_val"] == 4 and "val_loss" in seen[0]
    assert 1 <= result["best_epoch"] <= len(result["history"]) <= 4
    _, meta = load_model(tmp_path / "run2")
    assert meta["finetune"]["mode"] == "whole" and meta["finetune"]["lr"] == 0.005
    assert json.loads((tmp_path / "run2" / "finetune.json").read_text())["provenance"]
    with (tmp_path / "run2" / "finetune_history.csv").open() as fh:
        assert next(csv.reader(fh)) == ["epoch", "loss", "accuracy", "lr", "val_loss", "val_accuracy"]


def test_finetune_errors(store, model_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    LabelFile(bad).append("ghost", "lsbg")
    LabelFile(bad).append("obj-1", "lsbg")
    with pytest.raises(InputError, match=r"id\(s\) not in .*cutouts.h5: .ghost."):
        finetune_from_labels(model_dir, store, bad, tmp_path / "x")
    one = tmp_path / "one.csv"
    LabelFile(one).append("obj-1", "lsbg")
    with pytest.raises(InputError, match="at least 2"):
        finetune_from_labels(model_dir, store, one, tmp_path / "x")


def test_finetune_command_head_only(store, model_dir, tmp_path, capsys):
    labels = _label(tmp_path / "labels.csv", 10)
    argv = [
        "finetune",
        str(model_dir),
        "--data",
        str(store),
        "--labels",
        str(labels),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main([*argv, "--head-only", "--epochs", "2"]) == 0
    assert "model in" in capsys.readouterr().out
    assert load_model(tmp_path / "r")[1]["finetune"]["mode"] == "head"


def test_labels_to_reach():
    assert labels_to_reach([20, 40, 80], [0.6, 0.7, 0.9], 0.8) == pytest.approx(60)
    assert labels_to_reach([20, 40], [0.9, 0.95], 0.8) == 20
    assert labels_to_reach([20, 40], [0.5, 0.6], 0.8) is None


def test_curve_command_on_a_tiny_store(store, model_dir, tmp_path, capsys):
    out = tmp_path / "curve"
    argv = [
        "active-learning-curve",
        str(model_dir),
        "--data",
        str(store),
        "--out",
        str(out),
        "--sizes",
        "4,8",
        "--seeds",
        "0,1",
        "--n-test",
        "16",
        "--epochs",
        "1",
        "--mc-samples",
        "3",
        "--candidates",
        "10",
    ]
    assert main(argv) == 0
    assert "random acquisition, 8 labels" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "curve.csv").read_text().splitlines()))
    assert len(rows) == 2 * 2 * 3  # seeds x strategies x (0, 4, 8 labels)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["sizes"] == [4, 8] and len(summary["summary"]["labels_needed_per_seed"]) == 2
    assert (out / "active_learning_curve.png").stat().st_size > 1000
    with pytest.raises(
        InputError, match="exceed the 40 labelled objects; for example --n-test 16 --sizes 20"
    ):
        active_learning_curve(model_dir, store, tmp_path / "c2", sizes=[30], n_test=16)
    with pytest.raises(InputError, match="increasing"):
        active_learning_curve(model_dir, store, tmp_path / "c2", sizes=[8, 4])


def test_curve_defaults_fit_a_small_store_and_say_so(store, model_dir, tmp_path):
    lines: list[str] = []
    result = active_learning_curve(
        model_dir, store, tmp_path / "fit", seeds=[0], epochs=1, mc_samples=2, candidates=8, log=lines.append
    )
    settings = json.loads((tmp_path / "fit" / "summary.json").read_text())["settings"]
    assert settings["n_test"] == 10 and settings["sizes"] == [3, 7, 15, 30]
    assert any("the store has 40 labelled objects: testing on 10" in line for line in lines)
    assert result["rows"]
