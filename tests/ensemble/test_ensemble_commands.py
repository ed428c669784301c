"""Export and explain accept an ensemble folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.ensemble import EnsembleModule, read_ensemble_description
from deepshadows.errors import InputError
from deepshadows.explain import ensemble_gradcam, explain_run, gradcam
from deepshadows.export import export_half, export_onnx
from deepshadows.models import load_model
from deepshadows.models.forward import predict_logits
from deepshadows.predict import predict
from deepshadows.store.reader import open_store

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_onnx_export_holds_every_member(ensemble: Path, store: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from deepshadows.predict.onnx_backend import OnnxClassifier

    out = export_onnx(ensemble, tmp_path / "ensemble.onnx")  # checked against PyTorch within 1e-4
    classifier = OnnxClassifier(out)
    assert classifier.metadata["ensemble"]["members"] == 3
    assert "calibration" in classifier.metadata
    model, _ = load_model(ensemble)
    with open_store(store) as s:
        images = s.read_images(np.arange(24))
    members = [torch.sigmoid(torch.from_numpy(predict_logits(m, images))).numpy() for m in model.members]
    got = torch.sigmoid(torch.from_numpy(classifier.logits(images))).numpy()
    np.testing.assert_allclose(got, np.mean(members, 0), atol=1e-5)
    result = predict(out, store, tmp_path / "onnx.csv", progress=False)
    assert result["probabilities"] == "calibrated"


def test_half_export_writes_the_members(ensemble: Path, store: Path, tmp_path: Path) -> None:
    out = export_half(ensemble, tmp_path / "half")
    assert out == tmp_path / "half"
    description = read_ensemble_description(out)
    assert [m["path"] for m in description["members"]] == ["members/0", "members/1", "members/2"]
    for i in range(3):
        meta = json.loads((out / "members" / str(i) / "model.json").read_text())
        assert meta["stored_dtype"] == "float16"
    model, meta = load_model(out)
    assert isinstance(model, EnsembleModule) and meta["ensemble"]["seeds"] == [7, 8, 9]
    result = predict(out, store, tmp_path / "half.csv", progress=False, precision="fp32")
    assert result["probabilities"] == "calibrated"  # the calibration was carried for the copy
    source, _ = load_model(ensemble)
    with open_store(store) as s:
        images = s.read_images(np.arange(16))
    np.testing.assert_allclose(predict_logits(model, images), predict_logits(source, images), atol=5e-2)
    with pytest.raises(InputError, match="exported to a folder"):
        export_half(ensemble, tmp_path / "one.safetensors")


def test_gradcam_averages_the_members(ensemble: Path, store: Path, tmp_path: Path) -> None:
    model, _ = load_model(ensemble)
    with open_store(store) as s:
        images = s.read_images(np.arange(6))
    maps, targets = ensemble_gradcam(model, images)
    np.testing.assert_array_equal(targets, (predict_logits(model, images) > 0).astype(np.int64))
    members = [gradcam(m, images, target=targets)[0] for m in model.members]
    np.testing.assert_allclose(maps, np.mean(members, 0), atol=1e-6)
    result = explain_run(ensemble, store, tmp_path / "explain", per_group=2, high=0.51, low=0.49)
    assert (tmp_path / "explain" / "explain.json").is_file() and result["groups"]


def test_calibrate_refits_the_ensemble(ensemble: Path, store: Path, tmp_path: Path) -> None:
    import shutil

    from deepshadows.calibration import read_calibration
    from deepshadows.evaluation.calibrate import calibrate_run

    copy = tmp_path / "copy"
    shutil.copytree(ensemble, copy)
    result = calibrate_run(copy, store, method="isotonic")
    assert result["path"] == copy / "calibration.json"
    _, meta = load_model(copy)
    calibration = read_calibration(copy / "calibration.json")
    assert calibration.method == "isotonic" and calibration.weights_sha256 == meta["weights_sha256"]
