"""The compact ResNet through the commands: train, predict, evaluate, explain, export, transfer."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests.training.test_fit import write_store

from deepshadows.cli.main import cli, main
from deepshadows.models import list_models, load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAME = "compact-resnet"
SPLIT = np.array(["train"] * 4 + ["val", "val", "test", "test"])
OPTIONS = ["--model", NAME, "--epochs", "1", "--batch-size", "8", "--precision", "fp32", "--quiet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(
        tmp_path_factory.mktemp("data") / "synthetic.h5", n=48, size=32, split=np.tile(SPLIT, 6)
    )


@pytest.fixture(scope="module")
def run(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "compact"
    assert main(["train", str(store), "--out", str(out), *OPTIONS]) == 0
    return out


def test_train_help_lists_every_architecture() -> None:
    text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    assert all(name in text for name in list_models())


def test_train_records_the_architecture_and_its_optimizer(run: Path) -> None:
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["architecture"] == NAME
    assert (config["train"]["optimizer"], config["train"]["schedule"]) == ("adamw", "cosine")
    model, meta = load_model(run)
    assert meta["architecture"] == NAME and model.image_size == 32


def test_predict_and_evaluate(run: Path, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), str(store), "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 48 and all(0.0 <= float(r["probability"]) <= 1.0 for r in rows)
    assert (
        main(["evaluate", str(run), "--data", str(store), "--n-boot", "50", "--out", str(tmp_path / "e")])
        == 0
    )
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["n"] == 12


def test_explain(run: Path, store: Path, tmp_path: Path) -> None:
    args = ["explain", str(run), "--data", str(store), "--out", str(tmp_path / "x"), "--per-group", "2"]
    assert main([*args, "--high", "0.51", "--low", "0.49"]) == 0
    assert (tmp_path / "x" / "explain.json").is_file()


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript")),
    reason="ONNX export needs onnx, onnxruntime and onnxscript",
)
def test_export_onnx(run: Path, tmp_path: Path) -> None:
    assert main(["export", str(run), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 100_000


@pytest.mark.parametrize("head_only", [False, True])
def test_transfer(
    run: Path, store: Path, tmp_path: Path, head_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSHADOWS_COMPILE", "0")  # fine-tuning's Adadelta, eager: no compilation
    args = ["transfer", str(run), "--data", str(store), "--out", str(tmp_path / "t")]
    args += ["--n-finetune", "16", "--n-test", "16", "--epochs", "1", "--batch-size", "8", "--n-boot", "20"]
    assert main([*args, "--precision", "fp32", *(["--head-only"] if head_only else [])]) == 0
    tuned, meta = load_model(tmp_path / "t")
    assert meta["architecture"] == NAME


def test_ensemble_of_two(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "ens"
    assert main(["train", str(store), "--out", str(out), "--members", "2", *OPTIONS]) == 0
    model, meta = load_model(out)
    assert meta["architecture"] == NAME and len(model.members) == 2
    pred = tmp_path / "p.csv"
    assert main(["predict", str(out), str(store), "--out", str(pred), "--quiet"]) == 0
    assert "uncertainty" in pred.read_text().splitlines()[0]


def test_domain_adaptation_aligns_the_embedding(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapted"
    adapt = ["--adapt-to", str(store), "--adapt-loss", "energy", "--adapt-warmup", "0"]
    assert main(["train", str(store), "--out", str(out), *OPTIONS, *adapt]) == 0
    history = list(csv.DictReader((out / "history.csv").read_text().splitlines()))
    assert float(history[0]["train_alignment"]) >= 0.0
