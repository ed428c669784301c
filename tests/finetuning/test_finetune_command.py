"""``deepshadows finetune`` with a plain label table, a cross-validated estimate, and an .npz."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.finetuning.conftest import cutouts

from deepshadows.cli.main import main
from deepshadows.errors import InputError
from deepshadows.labelling.finetune import CHECKPOINT
from deepshadows.models import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _plain_csv(path, n, *, bad_row=None):
    """An ``id,label`` table with ``LSBG``/``artifact`` labels and an extra column."""
    lines = ["id,label,comment"]
    for i in range(n):
        label = "LSBG" if i % 2 else "artifact"  # the store's own classes (odd rows are LSBGs)
        lines.append(f"obj-{i},{'maybe' if i == bad_row else label},seen {i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_finetune_a_compact_resnet_from_a_plain_csv(store, resnet_dir, tmp_path, capsys):
    labels = _plain_csv(tmp_path / "plain.csv", 24)
    out = tmp_path / "tuned"
    argv = ["finetune", str(resnet_dir), "--data", str(store), "--labels", str(labels), "--out", str(out)]
    assert main([*argv, "--epochs", "2", "--cv", "2", "--batch-size", "8"]) == 0
    printed = capsys.readouterr().out
    assert "the starting model on your 24 labels: accuracy" in printed
    assert "cross-validated estimate (2 folds): accuracy" in printed
    assert "seed 0 fold 2/2: 12 labels" in printed
    assert "fine-tuning on 24 labels (recipe adamw, 2 epochs)" in printed
    assert "model in" in printed
    assert (out / "model.safetensors").is_file() and not (out / CHECKPOINT).exists()
    record = json.loads((out / "finetune.json").read_text())
    assert record["recipe"] == "adamw" and record["n_train"] == 24 and record["n_lsbg"] == 12
    assert set(record["before"]) == {"accuracy", "completeness", "purity", "auc"}
    assert record["cv"]["n"] == 24 and 0.0 <= record["cv"]["accuracy"]["mean"] <= 1.0
    assert record["settings"]["recipe"]["name"] == "adamw"
    assert record["settings"]["recipe"]["epochs"] == 2 and record["settings"]["recipe"]["batch_size"] == 8
    assert record["settings"]["cv"] == 2 and record["settings"]["labels_sha256"]
    assert [row["epoch"] for row in record["history"]] == [1, 2]
    tuned, meta = load_model(out)
    assert meta["architecture"] == "compact-resnet" and meta["finetune"]["recipe"]["name"] == "adamw"
    start, _ = load_model(resnet_dir)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(start.state_dict().values(), tuned.state_dict().values(), strict=True)
    )


def test_recipe_options_reach_the_record(store, model_dir, tmp_path, capsys):
    labels = _plain_csv(tmp_path / "plain.csv", 12)
    out = tmp_path / "tuned"
    argv = ["finetune", str(model_dir), "--data", str(store), "--labels", str(labels), "--out", str(out)]
    assert main([*argv, "--epochs", "1", "--cv", "0", "--recipe", "adamw", "--layer-decay", "0.5"]) == 0
    assert "cross-validated" not in capsys.readouterr().out
    recipe = json.loads((out / "finetune.json").read_text())["settings"]["recipe"]
    assert (recipe["name"], recipe["layer_decay"], recipe["epochs"]) == ("adamw", 0.5, 1)
    assert main([*argv, "--epochs", "1", "--layer-decay", "0"]) == 1
    assert "error: --layer-decay: must lie in (0, 1]" in capsys.readouterr().err


def test_an_unknown_label_names_the_file_and_row(store, model_dir, tmp_path, capsys):
    labels = _plain_csv(tmp_path / "plain.csv", 8, bad_row=4)
    argv = ["finetune", str(model_dir), "--data", str(store), "--labels", str(labels)]
    assert main([*argv, "--out", str(tmp_path / "x"), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert f"error: {labels}: row 6: unknown label value 'maybe' (label)" in err  # header is row 1
    assert not (tmp_path / "x" / "model.safetensors").exists()


def test_finetune_from_an_npz(model_dir, tmp_path, capsys):
    images, labels = cutouts(20, 8)
    data = tmp_path / "dev.npz"
    np.savez(data, images=images, label=labels, selection=np.where(labels == 1, "random", "edge"))
    out = tmp_path / "tuned"
    argv = ["finetune", str(model_dir), "--data", str(data), "--out", str(out), "--epochs", "2", "--cv", "2"]
    assert main(argv) == 0
    assert "cross-validated estimate (2 folds)" in capsys.readouterr().out
    record = json.loads((out / "finetune.json").read_text())
    assert record["recipe"] == "paper" and record["n_train"] == 20 and record["n_lsbg"] == 10
    assert record["settings"]["recipe"] == {**record["settings"]["recipe"], "name": "paper", "epochs": 2}
    assert record["settings"]["data"] == str(data) and record["settings"]["labels"] is None
    assert not (out / CHECKPOINT).exists()


class _Interrupt(Exception):
    pass


def test_resume_with_early_stopping_is_refused(store, resnet_dir, tmp_path):
    from deepshadows.labelling import finetune_from_labels

    with pytest.raises(InputError, match="--resume: continues runs without early stopping"):
        finetune_from_labels(resnet_dir, store, None, tmp_path / "a", resume=True, val_fraction=0.25, cv=0)


@pytest.mark.parametrize("val_fraction", [0.0])
def test_an_interrupted_finetune_resumes_exactly(store, resnet_dir, tmp_path, val_fraction):
    from deepshadows.labelling import finetune_from_labels

    kwargs = {"epochs": 4, "batch_size": 8, "lr": 3e-2, "val_fraction": val_fraction, "patience": 10, "cv": 0}
    straight = finetune_from_labels(resnet_dir, store, None, tmp_path / "a", **kwargs)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        finetune_from_labels(resnet_dir, store, None, tmp_path / "b", progress=stop_after_two, **kwargs)
    assert (tmp_path / "b" / CHECKPOINT).is_file()
    resumed = finetune_from_labels(resnet_dir, store, None, tmp_path / "b", resume=True, **kwargs)
    assert not (tmp_path / "b" / CHECKPOINT).exists()
    assert resumed["history"] == straight["history"]
    assert resumed["best_epoch"] == straight["best_epoch"]
    a, b = load_model(tmp_path / "a")[0].state_dict(), load_model(tmp_path / "b")[0].state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_resumed_finetune_keeps_its_cross_validated_estimate(store, resnet_dir, tmp_path):
    from deepshadows.labelling import finetune_from_labels

    kwargs = {"epochs": 3, "batch_size": 8, "cv": 2}

    def stop_after_one(row):
        if row["epoch"] == 1:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        finetune_from_labels(resnet_dir, store, None, tmp_path / "b", progress=stop_after_one, **kwargs)
    lines: list[str] = []
    resumed = finetune_from_labels(
        resnet_dir, store, None, tmp_path / "b", resume=True, log=lines.append, **kwargs
    )
    assert not any(line.startswith("cross-validating") for line in lines)
    assert any("from before the interruption" in line for line in lines)
    assert resumed["cv"] is not None and not list((tmp_path / "b").glob("finetune_cv*"))
