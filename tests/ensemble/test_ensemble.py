"""Ensembles: training into one folder, loading, the mean and the uncertainty, resume, predict, evaluate."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from tests.ensemble.conftest import CFG, TRAIN_OPTIONS

from deepshadows.calibration import read_calibration
from deepshadows.cli.main import cli
from deepshadows.ensemble import (
    EnsembleModule,
    combine_member_logits,
    fit_ensemble,
    load_ensemble,
    read_ensemble_description,
)
from deepshadows.errors import InputError
from deepshadows.evaluation.run import evaluate_run
from deepshadows.models import load_model
from deepshadows.models.forward import predict_logits
from deepshadows.predict import predict
from deepshadows.predict.partitions import Partition, classify_partition
from deepshadows.store.reader import open_store
from deepshadows.training import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def member_probabilities(ensemble: Path, images: np.ndarray) -> np.ndarray:
    """Each member's probability, loaded and run on its own: shape (N, M)."""
    columns = []
    for i in range(3):
        model, _ = load_model(ensemble / "members" / str(i))
        columns.append(torch.sigmoid(torch.from_numpy(predict_logits(model, images))).numpy())
    return np.stack(columns, axis=1)


def test_folder_layout_and_description(ensemble: Path, store: Path) -> None:
    description = read_ensemble_description(ensemble)
    assert description["format"] == "deepshadows-ensemble"
    assert description["seeds"] == [7, 8, 9]
    assert [m["path"] for m in description["members"]] == ["members/0", "members/1", "members/2"]
    assert all(m["finished"] for m in description["members"])
    assert description["config"]["seed"] == 7 and description["config"]["epochs"] == 2
    assert "torch" in description["versions"]
    for i, member in enumerate(description["members"]):
        folder = ensemble / member["path"]
        assert {"model.safetensors", "model.json", "last.pt", "config.json", "history.csv"} <= {
            p.name for p in folder.iterdir()
        }
        assert json.loads((folder / "config.json").read_text())["train"]["seed"] == 7 + i
        assert json.loads((folder / "model.json").read_text())["weights_sha256"] == member["weights_sha256"]
    # Different seeds give different networks.
    a, b = (load_file(ensemble / "members" / str(i) / "model.safetensors") for i in (0, 1))
    assert any(not torch.equal(a[k], b[k]) for k in a)
    # The ensemble is calibrated as a whole, for its own checksum.
    _, meta = load_ensemble(ensemble)
    calibration = read_calibration(ensemble / "calibration.json")
    assert calibration.weights_sha256 == meta["weights_sha256"]
    assert calibration.method == "temperature"


def test_mean_and_uncertainty_equal_the_members(ensemble: Path, store: Path) -> None:
    with open_store(store) as s:
        images = s.read_images(np.arange(16))
    model, meta = load_model(ensemble)
    assert isinstance(model, EnsembleModule) and meta["ensemble"]["members"] == 3
    members = member_probabilities(ensemble, images)
    logits = predict_logits(model, images)
    np.testing.assert_allclose(torch.sigmoid(torch.from_numpy(logits)).numpy(), members.mean(1), atol=1e-6)
    stacked = np.stack([predict_logits(m, images) for m in model.members], axis=1)
    _, probability, uncertainty = combine_member_logits(stacked)
    assert probability.dtype == np.float32 and uncertainty.dtype == np.float32
    np.testing.assert_allclose(probability, members.mean(1), atol=1e-6)
    np.testing.assert_allclose(uncertainty, members.std(1), atol=1e-6)


def test_combine_several_classes() -> None:
    z = np.random.default_rng(1).normal(size=(5, 4, 3)).astype(np.float32) * 4
    logits, probability, uncertainty = combine_member_logits(z)
    members = torch.softmax(torch.from_numpy(z), -1).numpy()
    np.testing.assert_allclose(probability, members.mean(1), atol=1e-6)
    np.testing.assert_allclose(
        torch.softmax(torch.from_numpy(logits), -1).numpy(), members.mean(1), atol=1e-6
    )
    top = members.mean(1).argmax(1)
    np.testing.assert_allclose(uncertainty, members[np.arange(5), :, top].std(1), atol=1e-6)
    # Extreme logits stay finite and give the exact mean.
    logits, probability, _ = combine_member_logits(np.array([[60.0, -60.0]], dtype=np.float32))
    assert np.isfinite(logits).all() and abs(probability[0] - 0.5) < 1e-6


def test_a_missing_member_or_corrupt_description_is_named(ensemble: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(ensemble, broken)
    shutil.rmtree(broken / "members" / "1")
    with pytest.raises(InputError, match=r"members/1: member 1 of .*ensemble\.json is missing"):
        load_model(broken)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(ensemble, corrupt)
    (corrupt / "ensemble.json").write_text("{ not json")
    with pytest.raises(InputError, match=r"corrupt/ensemble\.json: cannot read the ensemble description"):
        load_model(corrupt)
    (corrupt / "ensemble.json").write_text(
        json.dumps({"format": "deepshadows-ensemble", "format_version": 1})
    )
    with pytest.raises(InputError, match=r"ensemble\.json: 'members' must be a non-empty list"):
        load_model(corrupt)


def test_predict_writes_the_mean_and_the_uncertainty(ensemble: Path, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    result = predict(ensemble, store, out, progress=False, precision="fp32")
    assert result["probabilities"] == "calibrated"
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "probability", "probability_uncalibrated", "label", "uncertainty"]
    with open_store(store) as s:
        images = s.read_images(np.arange(len(s)))
    members = member_probabilities(ensemble, images)
    np.testing.assert_allclose([float(r["uncertainty"]) for r in rows], members.std(1), atol=1e-6)
    mean = members.mean(1).astype(np.float64)
    expected = read_calibration(ensemble / "calibration.json").probabilities(np.log(mean) - np.log1p(-mean))
    np.testing.assert_allclose([float(r["probability"]) for r in rows], expected, atol=1e-5)
    np.testing.assert_allclose([float(r["probability_uncalibrated"]) for r in rows], mean, atol=1e-6)
    # Uncalibrated: the plain mean; a Dask worker's partition gives the members' logits.
    predict(ensemble, store, out, progress=False, precision="fp32", calibrated=False, overwrite=True)
    with out.open(newline="") as f:
        plain = [float(r["probability"]) for r in csv.DictReader(f)]
    np.testing.assert_allclose(plain, mean, atol=1e-6)
    part = Partition(str(ensemble), str(store), 16, None, "cpu", "fp32", 8, start=3, size=5, members=True)
    ids, member_logits, failures = classify_partition(part)
    assert member_logits.shape == (5, 3) and ids[0] == rows[3]["id"] and failures == []


def test_evaluate_reports_rejection(ensemble: Path, store: Path, tmp_path: Path) -> None:
    result = evaluate_run(ensemble, store, out_dir=tmp_path / "eval", n_boot=20)
    table = result["uncertainty_rejection"]
    assert [row["fraction"] for row in table] == [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]
    assert [row["kept"] for row in table] == [16, 15, 14, 13, 11, 8]
    assert table[0]["accuracy"] == pytest.approx(result["metrics"]["accuracy"])
    assert (tmp_path / "eval" / "rejection.png").stat().st_size > 1000
    with (tmp_path / "eval" / "rejection.csv").open(newline="") as f:
        assert [row["kept"] for row in csv.DictReader(f)] == ["16", "15", "14", "13", "11", "8"]
    stored = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert stored["uncertainty_rejection"] == table and "rejection.png" in stored["files"]


def test_resume_keeps_finished_members(ensemble: Path, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    shutil.copytree(ensemble, out)
    # Member 2 was interrupted after its first epoch; members 0 and 1 had finished.
    fit(
        store,
        out / "members" / "2",
        TrainConfig(**{**CFG.to_dict(), "seed": 9, "epochs": 1}),
        overwrite=True,
        progress=False,
    )
    description = json.loads((out / "ensemble.json").read_text())
    description["members"][2]["finished"] = False
    (out / "ensemble.json").write_text(json.dumps(description))
    (out / "calibration.json").unlink()
    with pytest.raises(InputError, match="has not finished training"):
        load_model(out)
    kept = {i: (out / "members" / str(i) / "history.csv").stat().st_mtime_ns for i in (0, 1)}
    with pytest.raises(InputError, match=r"ensemble\.json: cannot resume.*lr: 1\.0 -> 0\.5"):
        fit_ensemble(store, out, TrainConfig(**{**CFG.to_dict(), "lr": 0.5}), members=3, resume=True)
    with pytest.raises(InputError, match="already holds an ensemble"):
        fit_ensemble(store, out, CFG, members=3)
    lines: list[str] = []
    result = fit_ensemble(store, out, CFG, members=3, resume=True, log=lines.append)
    assert [m["index"] for m in result["members"]] == [2]
    assert "2 finished and kept" in lines[0]
    assert {i: (out / "members" / str(i) / "history.csv").stat().st_mtime_ns for i in (0, 1)} == kept
    # The resumed member ends with the weights of the uninterrupted one.
    a = load_file(ensemble / "members" / "2" / "model.safetensors")
    b = load_file(out / "members" / "2" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (out / "calibration.json").is_file()
    load_model(out)


def test_one_member_is_a_single_run(store: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(**{**CFG.to_dict(), "epochs": 1})
    result = CliRunner().invoke(
        cli,
        [
            "train",
            str(store),
            "--out",
            str(tmp_path / "one"),
            "--members",
            "1",
            "--quiet",
            *TRAIN_OPTIONS,
            "--epochs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "one" / "ensemble.json").exists()
    fit(store, tmp_path / "single", cfg, progress=False)
    a = load_file(tmp_path / "one" / "model.safetensors")
    b = load_file(tmp_path / "single" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(InputError, match="--members: must be a positive integer"):
        fit_ensemble(store, tmp_path / "none", cfg, members=0)
    with pytest.raises(InputError, match="holds a single training run"):
        fit_ensemble(store, tmp_path / "single", cfg, members=2)
