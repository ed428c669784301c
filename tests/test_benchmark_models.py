"""benchmarks/models.py runs end to end on a tiny store, with the real development set."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.evaluation.test_realdev import fake_fields, write_npz
from tests.training.test_fit import write_store

from deepshadows.models import create_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_models_benchmark_prints_one_row_per_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(_BENCHMARKS))
    monkeypatch.setenv("DEEPSHADOWS_COMPILE", "0")  # the eager Adadelta update: no compilation to wait for
    spec = importlib.util.spec_from_file_location("bench_models", _BENCHMARKS / "models.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    split = np.tile(["train", "val", "test", "test"], 8)
    store = write_store(tmp_path / "s.h5", n=32, size=64, split=split)
    torch.manual_seed(0)
    for name in ("deepshadows-table1", "compact-resnet"):
        save_model(
            create_model(name),
            tmp_path / name / "model.safetensors",
            metadata={"class_names": ["artifact", "lsbg"]},
        )
    realdev = write_npz(tmp_path / "realdev.npz", fake_fields())
    runs = [str(tmp_path / "deepshadows-table1"), str(tmp_path / "compact-resnet")]
    options = ["--n-boot", "20", "--steps", "1", "--repeats", "1", "--batch-size", "8", "--threads", "1"]
    bench.main(
        [*runs, "--data", str(store), "--realdev", str(realdev), "--out", str(tmp_path / "out"), *options]
    )
    text = capsys.readouterr().out
    assert "| deepshadows-table1 | 4,220,161 |" in text and "| compact-resnet | 906,489 |" in text
    assert "real model_selected AUC" in text
    rows = json.loads((tmp_path / "out" / "models.json").read_text())["models"]
    assert [row["architecture"] for row in rows] == ["deepshadows-table1", "compact-resnet"]
    assert all(row["speed"]["train_images_per_s"] > 0 and row["simulated"]["n"] == 16 for row in rows)
