"""Calibration from the command line: train, predict, evaluate, export and calibrate."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from scipy.special import expit, logit

from deepshadows.cli.main import main
from deepshadows.predict import predict
from deepshadows.simulate import SimConfig, make_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "des.h5"
    return make_dataset(path, SimConfig(n=48, seed=2, max_attempts=3), workers=1, progress=False)


@pytest.fixture(scope="module")
def trained_run(small_store, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    args = ["train", str(small_store), "--out", str(run), "--epochs", "1", "--batch-size", "16", "--quiet"]
    assert main(args) == 0
    return run


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_train_fits_a_temperature_on_the_validation_split(trained_run, capsys):
    calibration = json.loads((trained_run / "calibration.json").read_text())
    assert calibration["method"] == "temperature" and calibration["temperature"] > 0
    assert calibration["fitted_on"]["split"] == "val" and calibration["fitted_on"]["n"] > 0
    assert set(calibration["curves"]) == {"calibrated", "uncalibrated"}
    model = json.loads((trained_run / "model.json").read_text())
    assert calibration["weights_sha256"] == model["weights_sha256"]
    config = json.loads((trained_run / "config.json").read_text())
    assert config["train"]["calibration"] == "temperature"


def test_predict_is_calibrated_by_default(trained_run, small_store, tmp_path, capsys):
    calibrated, raw = tmp_path / "calibrated.csv", tmp_path / "raw.csv"
    assert main(["predict", str(trained_run), str(small_store), "--out", str(calibrated), "--quiet"]) == 0
    assert "calibrated probabilities" in capsys.readouterr().out
    args = ["predict", str(trained_run), str(small_store), "--out", str(raw), "--quiet", "--uncalibrated"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "uncalibrated probabilities" in captured.out and "note" not in captured.err
    header, rows = read(calibrated)
    raw_header, raw_rows = read(raw)
    assert header == ["id", "probability", "probability_uncalibrated", "label"]
    assert raw_header == ["id", "probability", "label"]
    assert [r[2] for r in rows] == [r[1] for r in raw_rows]  # the model's own, as --uncalibrated writes
    temperature = json.loads((trained_run / "calibration.json").read_text())["temperature"]
    p_raw = np.array([float(r[1]) for r in raw_rows])
    expected = expit(logit(p_raw) / temperature)
    np.testing.assert_allclose([float(r[1]) for r in rows], expected, rtol=1e-5, atol=1e-7)


def test_notebook_api_offers_the_same(trained_run, small_store, tmp_path):
    notes = []
    result = predict(trained_run, small_store, tmp_path / "p.csv", progress=False, log=notes.append)
    assert result["probabilities"] == "calibrated" and result["calibration"] == "temperature"
    assert notes == [] and result["operating_point"] is None
    raw = predict(trained_run, small_store, tmp_path / "r.csv", progress=False, calibrated=False)
    assert raw["probabilities"] == "uncalibrated" and raw["calibration"] is None
    released = predict("des-sim", small_store, tmp_path / "d.csv", progress=False, log=notes.append)
    assert released["probabilities"] == "calibrated" and released["calibration"] == "temperature"
    fine_tuned = predict("hsc", small_store, tmp_path / "h.csv", progress=False, log=notes.append)
    assert fine_tuned["probabilities"] == "uncalibrated" and fine_tuned["calibration"] is None
    assert len(notes) == 1 and "hsc has no calibration" in notes[0]


def test_target_purity_sets_the_threshold(trained_run, small_store, tmp_path, capsys):
    curve = json.loads((trained_run / "calibration.json").read_text())["curves"]["calibrated"]
    target = min(curve["purity"][0], 0.5)  # met by the lowest threshold at least
    out = tmp_path / "target.csv"
    args = ["predict", str(trained_run), str(small_store), "--out", str(out), "--quiet"]
    assert main([*args, "--target-purity", str(target)]) == 0
    captured = capsys.readouterr()
    assert f"for purity >= {target:g}: expected completeness" in captured.err
    result = predict(trained_run, small_store, tmp_path / "api.csv", progress=False, target_purity=target)
    point = result["operating_point"]
    assert point["target"] == "purity" and point["purity"] >= target
    assert result["threshold"] == point["threshold"] and point["threshold"] in curve["threshold"]
    header, rows = read(out)
    assert header == ["id", "probability", "probability_uncalibrated", "label"]
    assert all(int(r[3]) == int(float(r[1]) > point["threshold"]) for r in rows)  # the calibrated one

    for bad, culprit in (("1.5", "--target-purity: must lie in (0, 1]"), ("0", "--target-purity")):
        assert main([*args, "--overwrite", "--target-purity", bad]) == 1
        assert culprit in capsys.readouterr().err
    assert main([*args, "--overwrite", "--target-completeness", "0.5", "--threshold", "0.3"]) == 1
    assert "--threshold" in capsys.readouterr().err
    assert (
        main(["predict", "hsc", str(small_store), "--out", str(out), "--overwrite", "--target-purity", "0.9"])
        == 1
    )
    assert "run `deepshadows calibrate" in capsys.readouterr().err


def test_evaluate_reports_calibration_and_the_operating_point(trained_run, small_store, tmp_path, capsys):
    out = tmp_path / "evaluation"
    args = ["evaluate", str(trained_run), "--data", str(small_store), "--n-boot", "50", "--out", str(out)]
    assert main([*args, "--target-completeness", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "probabilities: calibrated (temperature" in printed
    for text in (
        "| ECE (15 bins) |",
        "| Brier score |",
        "| log loss |",
        "Operating point: completeness >= 0.5",
    ):
        assert text in printed
    assert "reliability.png" in printed and "completeness_purity.png" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["operating_point"]["target"] == "completeness"
    assert metrics["threshold"] == metrics["operating_point"]["threshold"]
    assert set(metrics["compared_calibration"]) == {"uncalibrated"}
    assert {"ece", "brier", "log_loss"} <= set(metrics["intervals"])


def test_export_carries_the_calibration(trained_run, small_store, tmp_path, capsys):
    half = tmp_path / "exported" / "model.safetensors"
    assert main(["export", str(trained_run), "--half", str(half)]) == 0
    assert "with its calibration (temperature)" in capsys.readouterr().out
    sidecar = json.loads(half.with_suffix(".json").read_text())
    assert sidecar["calibration"] == json.loads((trained_run / "calibration.json").read_text())
    assert not (half.parent / "calibration.json").exists()  # the description alone carries it
    result = predict(half, small_store, tmp_path / "half.csv", progress=False, precision="fp32")
    assert result["probabilities"] == "calibrated"
    point = predict(half, small_store, tmp_path / "t.csv", progress=False, target_completeness=0.5)
    assert point["operating_point"]["completeness"] >= 0.5


def test_calibrate_a_run_without_one(trained_run, small_store, tmp_path, capsys):
    old = tmp_path / "old_run"
    shutil.copytree(trained_run, old)
    (old / "calibration.json").unlink()  # as runs trained before calibrations existed
    out = tmp_path / "p.csv"
    assert main(["predict", str(old), str(small_store), "--out", str(out), "--quiet"]) == 0
    assert "has no calibration, its probabilities are uncalibrated" in capsys.readouterr().err
    assert read(out)[0][1] == "probability"

    assert main(["calibrate", str(old), "--data", str(small_store), "--method", "isotonic"]) == 0
    assert "calibration isotonic" in capsys.readouterr().out
    calibration = json.loads((old / "calibration.json").read_text())
    assert calibration["method"] == "isotonic" and calibration["fitted_on"]["split"] == "val"
    assert main(["predict", str(old), str(small_store), "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert read(out)[0][1:3] == ["probability", "probability_uncalibrated"]

    assert main(["calibrate", str(old), "--data", str(small_store), "--split", "test"]) == 0
    assert "used to test the model" in capsys.readouterr().err
    assert main(["calibrate", "des", "--data", str(small_store)]) == 1
    assert "released model" in capsys.readouterr().err


def test_a_calibration_of_other_weights_is_refused(trained_run, small_store, tmp_path, capsys):
    stale = tmp_path / "stale_run"
    shutil.copytree(trained_run, stale)
    calibration = json.loads((stale / "calibration.json").read_text())
    calibration["weights_sha256"] = "0" * 64
    (stale / "calibration.json").write_text(json.dumps(calibration))
    out = tmp_path / "p.csv"
    assert main(["predict", str(stale), str(small_store), "--out", str(out), "--quiet"]) == 1
    assert "fitted for other weights" in capsys.readouterr().err
    assert (
        main(["predict", str(stale), str(small_store), "--out", str(out), "--quiet", "--uncalibrated"]) == 0
    )


def test_calibrate_platt_then_predict_prints_the_interval(trained_run, small_store, tmp_path, capsys):
    run = tmp_path / "platt_run"
    shutil.copytree(trained_run, run)
    assert main(["calibrate", str(run), "--data", str(small_store), "--method", "platt"]) == 0
    assert "calibration Platt a=" in capsys.readouterr().out
    calibration = json.loads((run / "calibration.json").read_text())
    n = calibration["fitted_on"]["n"]
    assert calibration["method"] == "platt" and np.isfinite([calibration["slope"], calibration["bias"]]).all()
    assert len(calibration["sample"]["logit"]) == len(calibration["sample"]["label"]) == n

    out = tmp_path / "candidates.ecsv"
    args = ["predict", str(run), str(small_store), "--out", str(out), "--quiet"]
    assert main([*args, "--target-completeness", "0.9"]) == 0
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("threshold"))
    assert "for completeness >= 0.9: expected purity" in line
    assert f"on {n} objects of the val split; 95 % bootstrap intervals" in line
    assert line.endswith("of 1000 resamples cannot meet the target") and line.count("[") == 3

    result = predict(run, small_store, tmp_path / "api.ecsv", progress=False, target_completeness=0.9)
    interval = result["operating_point"]["interval"]
    assert interval["n"] == n and interval["n_boot"] == 1000
    assert interval["threshold"]["low"] <= result["threshold"] <= interval["threshold"]["high"]
    from astropy.table import Table

    meta = {k.upper(): v for k, v in Table.read(out, format="ascii.ecsv").meta.items()}
    assert meta["OPTARGET"] == "completeness>=0.9"
    assert float(meta["THRLOW"]) == pytest.approx(interval["threshold"]["low"])
    assert float(meta["THRHIGH"]) == pytest.approx(interval["threshold"]["high"])


def test_calibrate_on_a_label_table_or_a_npz(trained_run, small_store, tmp_path, capsys):
    from deepshadows.store.reader import open_store

    with open_store(small_store) as store:
        rows = np.flatnonzero(store.labels >= 0)[:30]
        ids, labels, images = store.ids[rows], store.labels[rows], store.read_images(rows)
    run = tmp_path / "labelled_run"
    shutil.copytree(trained_run, run)
    table = tmp_path / "my_labels.csv"
    table.write_text("id,label\n" + "".join(f"{i},{int(v)}\n" for i, v in zip(ids, labels, strict=True)))
    args = ["calibrate", str(run), "--data", str(small_store), "--labels", str(table), "--method", "platt"]
    assert main(args) == 0
    assert f"fitted on the labelled objects of {small_store} (30 objects" in capsys.readouterr().out
    fitted = json.loads((run / "calibration.json").read_text())["fitted_on"]
    assert fitted["split"] == "labelled" and fitted["n"] == 30 and fitted["n_lsbg"] == int(labels.sum())
    assert fitted["data"]["path"] == str(small_store) and fitted["data"]["labels"] == str(table)
    out = tmp_path / "p.csv"
    predict_args = ["predict", str(run), str(small_store), "--out", str(out), "--quiet"]
    assert main([*predict_args, "--target-completeness", "0.9"]) == 0
    assert "on 30 labelled objects; 95 % bootstrap intervals" in capsys.readouterr().err

    npz = tmp_path / "real.npz"
    np.savez(npz, images=images, label=labels.astype(np.int8))
    assert main(["calibrate", str(run), "--data", str(npz), "--method", "platt"]) == 0
    fitted = json.loads((run / "calibration.json").read_text())["fitted_on"]
    assert fitted["data"]["path"] == str(npz) and fitted["data"]["labels"] is None and fitted["n"] == 30
    assert "store" not in fitted

    for bad, message in (
        (["--data", str(npz), "--split", "val"], "--split val: applies to a store without --labels"),
        (["--data", str(small_store), "--match-radius", "2"], "--match-radius: applies to a label table"),
    ):
        assert main(["calibrate", str(run), *bad]) == 1
        assert message in capsys.readouterr().err
