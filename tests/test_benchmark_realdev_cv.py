"""benchmarks/realdev_cv.py cross-validates recipes on a development set end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.evaluation.test_realdev import fake_fields, write_npz

from deepshadows.models import create_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_realdev_cv_reports_every_variant_per_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_realdev_cv", _BENCHMARKS / "realdev_cv.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    torch.manual_seed(0)
    model = create_model("compact-resnet", widths=(8, 8, 8, 8), depths=(1, 1, 1, 1), hidden=16)
    save_model(model, tmp_path / "m" / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]})
    realdev = write_npz(tmp_path / "realdev.npz", fake_fields())
    bench.main(
        [
            str(tmp_path / "m"),
            "--realdev",
            str(realdev),
            "--cv",
            "2",
            "--seeds",
            "0,1",
            "--variant",
            "a:epochs=1,batch_size=8",
            "--variant",
            "b:recipe=paper,epochs=1,labels=10",
            "--out",
            str(tmp_path / "out"),
            "--precision",
            "fp32",
        ]
    )
    text = capsys.readouterr().out
    assert "| a | " in text and "| b | " in text and "random/ls-dr9" in text
    numbers = json.loads((tmp_path / "out" / "realdev_cv.json").read_text())["variants"]
    n = len(fake_fields()["label"])
    for name in ("a", "b"):
        probs = np.array(numbers[name]["probabilities"])
        assert probs.shape == (2, n) and np.isfinite(probs).all()
        summary = numbers[name]["summary"]
        assert summary["all"]["n"] == n and len(summary["all"]["accuracy"]["per_seed"]) == 2
    assert (
        numbers["b"]["settings"]["recipe"]["name"] == "paper" and numbers["b"]["settings"]["n_labels"] == 10
    )
