"""The model commands: train, evaluate and predict from the command line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from deepshadows.cli.main import main
from deepshadows.data import open_store
from deepshadows.simulate import SimConfig, make_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "des.h5"
    return make_dataset(path, SimConfig(n=48, seed=2, max_attempts=3), workers=1, progress=False)


@pytest.fixture(scope="module")
def trained_run(small_store, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    assert (
        main(["train", str(small_store), "--out", str(run), "--epochs", "2", "--batch-size", "16", "--quiet"])
        == 0
    )
    return run


def test_train_writes_the_run(trained_run):
    for name in (
        "model.safetensors",
        "model.json",
        "history.csv",
        "training_history.png",
        "config.json",
        "last.pt",
    ):
        assert (trained_run / name).stat().st_size > 0
    meta = json.loads((trained_run / "model.json").read_text())
    assert meta["architecture"] == "deepshadows-table1"


def test_evaluate_prints_the_metrics_table(trained_run, small_store, capsys):
    assert main(["evaluate", str(trained_run), "--data", str(small_store), "--n-boot", "200"]) == 0
    out = capsys.readouterr().out
    assert "| accuracy |" in out and "roc.png" in out
    metrics = json.loads((trained_run / "evaluation_test" / "metrics.json").read_text())
    assert metrics["n"] == 6


def test_predict_on_a_store_and_a_folder(trained_run, small_store, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(trained_run), str(small_store), "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    with open_store(small_store) as store:
        assert [r["id"] for r in rows] == list(store.ids)
        images = store.read_images([0, 1])
    # The run was calibrated at the end of training: its probabilities are calibrated ones.
    assert all(0.0 <= float(r["probability"]) <= 1.0 for r in rows)
    assert all(0.0 <= float(r["probability_uncalibrated"]) <= 1.0 for r in rows)

    folder = tmp_path / "cutouts"
    folder.mkdir()
    for k, image in enumerate(images):
        Image.fromarray(image).save(folder / f"obj{k}.png")
    out2 = tmp_path / "folder.csv"
    assert main(["predict", str(trained_run), str(folder), "--out", str(out2), "--quiet"]) == 0
    folder_rows = list(csv.DictReader(out2.read_text().splitlines()))
    assert [r["id"] for r in folder_rows] == ["obj0", "obj1"]
    # PNG is lossless: the same pixels give the same probabilities as from the store.
    np.testing.assert_allclose(
        [float(r["probability"]) for r in folder_rows],
        [float(r["probability"]) for r in rows[:2]],
        rtol=1e-6,
    )


def test_predict_rejects_images_of_another_size(trained_run, tmp_path, capsys):
    folder = tmp_path / "big"
    folder.mkdir()
    Image.fromarray(np.zeros((256, 256, 3), np.uint8)).save(folder / "a.png")
    assert main(["predict", str(trained_run), str(folder), "--out", str(tmp_path / "p.csv"), "--quiet"]) == 1
    assert "a.png" in capsys.readouterr().err
    args = [
        "predict",
        str(trained_run),
        str(folder),
        "--out",
        str(tmp_path / "p.csv"),
        "--resize",
        "bicubic",
        "--overwrite",
    ]
    assert main([*args, "--quiet"]) == 0


@pytest.mark.parametrize(
    ("command", "culprit"),
    [
        (["evaluate", "{missing}", "--data", "{store}"], "{missing}"),
        (["predict", "{missing}", "{store}", "--out", "{tmp}/x.csv"], "{missing}"),
        (["train", "{store}", "--out", "{tmp}/r", "--epochs", "0"], "--epochs"),
        (["train", "{store}", "--out", "{tmp}/r", "--batch-size", "-1"], "--batch-size"),
    ],
)
def test_bad_model_inputs_give_one_clear_line(small_store, tmp_path, capsys, command, culprit):
    values = {"missing": str(tmp_path / "no_such_run"), "store": str(small_store), "tmp": str(tmp_path)}
    args = [part.format(**values) for part in command]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and culprit.format(**values) in err


def test_corrupt_weights_are_reported(trained_run, small_store, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    (broken / "model.safetensors").write_bytes(b"not a tensor file")
    assert main(["evaluate", str(broken), "--data", str(small_store)]) == 1
    assert "model.safetensors" in capsys.readouterr().err


def test_three_classes_train_evaluate_and_predict(tmp_path):
    """`train --classes 3` on a set with type-1 artifacts; evaluate gives the 3x3 and reduced 2x2 views."""
    store = make_dataset(
        tmp_path / "des3.h5",
        SimConfig(n=60, seed=4, max_attempts=3, type1_fraction=0.34),
        workers=1,
        progress=False,
    )
    run = tmp_path / "run3"
    args = ["train", str(store), "--out", str(run), "--classes", "3", "--epochs", "2", "--batch-size", "16"]
    assert main([*args, "--quiet"]) == 0
    assert json.loads((run / "model.json").read_text())["class_names"] == ["type2", "lsbg", "type1"]
    assert main(["evaluate", str(run), "--data", str(store), "--n-boot", "100"]) == 0
    metrics = json.loads((run / "evaluation_test" / "metrics.json").read_text())
    assert metrics["n_classes"] == 3
    assert np.asarray(metrics["multiclass"]["confusion"]).shape == (3, 3)
    assert np.asarray(metrics["confusion"]["counts"]).shape == (2, 2)  # LSBG versus both artifact types
    assert {"completeness", "purity"} <= set(metrics["metrics"])
    out = tmp_path / "pred3.csv"
    assert main(["predict", str(run), str(store), "--out", str(out), "--quiet"]) == 0
    assert out.read_text().splitlines()[0] == (
        "id,prob_type2,prob_lsbg,prob_type1,"
        "prob_type2_uncalibrated,prob_lsbg_uncalibrated,prob_type1_uncalibrated,label"
    )
    assert (
        main(["predict", str(run), str(store), "--out", str(out), "--quiet", "--overwrite", "--uncalibrated"])
        == 0
    )
    assert out.read_text().splitlines()[0] == "id,prob_type2,prob_lsbg,prob_type1,label"
