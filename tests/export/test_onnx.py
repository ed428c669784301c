from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.errors import InputError
from deepshadows.models import create_model, save_model, sidecar_path
from deepshadows.predict import predict_logits

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from deepshadows.export import export_onnx  # noqa: E402
from deepshadows.export import onnx as export_module  # noqa: E402
from deepshadows.predict.onnx_backend import OnnxClassifier  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 37  # not a multiple of 8: exercises the leftover rows of the CPU kernels


def _randomise_batchnorm(model: torch.nn.Module, seed: int) -> None:
    """Give BatchNorm layers running statistics and affine parameters far from the defaults."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                module.running_var.copy_(torch.rand(c, generator=gen) * 2 + 0.2)
                module.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(c, generator=gen) * 0.3)


def _images(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def _saved(folder: Path, num_classes: int, seed: int) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(seed)
    model = create_model("deepshadows-table1", num_classes=num_classes)
    _randomise_batchnorm(model, seed)
    names = ["artifact", "lsbg"] if num_classes == 1 else ["artifact", "lsbg", "other"]
    meta = {"class_names": names, "threshold": 0.37, "training": {"epochs": 3, "seed": seed}}
    weights = save_model(model, folder / "model.safetensors", metadata=meta)
    return model.eval(), weights


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("binary")
    model, weights = _saved(folder, 1, seed=3)
    out = export_onnx(folder, folder / "model.onnx")  # a run folder, as load_model accepts
    return model, weights, out


@pytest.fixture(scope="module")
def three_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("three")
    model, weights = _saved(folder, 3, seed=4)
    out = export_onnx(weights, folder / "model.onnx")  # the weight file itself
    return model, weights, out


@pytest.mark.parametrize("case", ["binary", "three_class"])
def test_onnx_logits_match_torch(case, request):
    model, _, out = request.getfixturevalue(case)
    images = _images(N)
    want = predict_logits(model, images)
    got = OnnxClassifier(out, threads=1).logits(images)
    assert got.dtype == np.float32
    assert got.shape == want.shape == ((N,) if case == "binary" else (N, 3))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    assert np.std(want) > 1e-3  # the comparison is not between constants
    # The batch size does not change the result beyond rounding.
    np.testing.assert_allclose(OnnxClassifier(out).logits(images, batch_size=8), got, rtol=0, atol=1e-6)


def test_graph_interface_and_dynamic_batch(binary):
    _, _, out = binary
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    (inp,), (outp,) = proto.graph.input, proto.graph.output
    assert (inp.name, outp.name) == ("images", "logits")
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert outp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [64, 64, 3]
    assert not list(out.parent.glob("*.data"))  # weights inline, no external data file
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    images = _images(N, seed=5)
    full = session.run(None, {"images": images})[0]
    one = session.run(None, {"images": images[:1]})[0]
    assert full.shape == (N,) and one.shape == (1,)
    np.testing.assert_allclose(one, full[:1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(OnnxClassifier(out).logits(images, batch_size=1), full, rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", ["binary", "three_class"])
def test_metadata_round_trip(case, request):
    _, weights, out = request.getfixturevalue(case)
    sidecar = json.loads(sidecar_path(weights).read_text())
    classifier = OnnxClassifier(out)
    assert classifier.path == out
    assert classifier.metadata == sidecar
    assert classifier.metadata["class_names"][:2] == ["artifact", "lsbg"]
    assert classifier.metadata["threshold"] == 0.37
    assert classifier.metadata["model_kwargs"]["num_classes"] == (1 if case == "binary" else 3)
    proto = onnx.load(str(out), load_external_data=False)
    assert proto.producer_name == "deepshadows"
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["deepshadows"]) == sidecar


def test_overwrite_refused_leaves_file(binary, tmp_path):
    _, weights, _ = binary
    out = tmp_path / "model.onnx"
    out.write_bytes(b"old content")
    with pytest.raises(InputError, match="model.onnx"):
        export_onnx(weights, out)
    assert out.read_bytes() == b"old content"
    assert export_onnx(weights, out, overwrite=True, check=False, opset=18) == out
    assert OnnxClassifier(out).metadata["threshold"] == 0.37
    assert {(o.domain, o.version) for o in onnx.load(str(out)).opset_import} >= {("", 18)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_failed_check_writes_nothing(binary, tmp_path, monkeypatch):
    model, weights, _ = binary
    monkeypatch.setattr(export_module, "predict_logits", lambda m, x: predict_logits(m, x) + 1e-3)
    out = tmp_path / "model.onnx"
    with pytest.raises(RuntimeError, match=r"model\.onnx.*model\.safetensors"):
        export_onnx(weights, out)
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"old content")
    with pytest.raises(RuntimeError, match="differ"):
        export_onnx(weights, out, overwrite=True)
    assert out.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_export_bad_model_path(tmp_path):
    with pytest.raises(InputError, match="missing.safetensors"):
        export_onnx(tmp_path / "missing.safetensors", tmp_path / "m.onnx")
    with pytest.raises(InputError, match="opset"):
        export_onnx(tmp_path / "missing.safetensors", tmp_path / "m.onnx", opset=0)
    assert list(tmp_path.iterdir()) == []


def _foreign_onnx(path: Path) -> Path:
    """A valid ONNX model with the right input, but not written by deepshadows."""
    helper = onnx.helper
    node = helper.make_node("Cast", ["images"], ["logits"], to=onnx.TensorProto.FLOAT)
    graph = helper.make_graph(
        [node],
        "foreign",
        [helper.make_tensor_value_info("images", onnx.TensorProto.UINT8, ["n", 64, 64, 3])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["n", 64, 64, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(path))
    return path


def test_bad_onnx_files(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.onnx.*not found"):
        OnnxClassifier(tmp_path / "nothere.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf \x00\xff" * 10)
    with pytest.raises(InputError, match=r"garbage\.onnx.*not an ONNX model"):
        OnnxClassifier(garbage)
    foreign = _foreign_onnx(tmp_path / "foreign.onnx")
    with pytest.raises(InputError, match=r"foreign\.onnx.*not a model exported by deepshadows"):
        OnnxClassifier(foreign)
    with pytest.raises(InputError, match="threads"):
        OnnxClassifier(foreign, threads=0)


def test_wrong_input_raises(binary):
    _, _, out = binary
    classifier = OnnxClassifier(out)
    images = _images(4)
    with pytest.raises(ValueError, match="uint8"):
        classifier.logits(images.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        classifier.logits(images[0])
    with pytest.raises(ValueError, match=r"model\.onnx.*\(N, 64, 64, 3\)"):
        classifier.logits(images[:, :32, :32])
    with pytest.raises(ValueError, match=r"\(N, 64, 64, 3\)"):
        classifier.logits(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    with pytest.raises(InputError, match="batch-size"):
        classifier.logits(images, batch_size=0)
    assert classifier.logits(images[:0]).shape == (0,)


def test_missing_onnxruntime(binary, tmp_path, monkeypatch):
    _, weights, out = binary
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(InputError, match=r"pip install 'deepshadows\[onnx\]'"):
        OnnxClassifier(out)
    with pytest.raises(InputError, match=r"pip install 'deepshadows\[onnx\]'"):
        export_onnx(weights, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_then_predict_with_onnx_runtime(binary, tmp_path):
    """`deepshadows export --onnx` then `deepshadows predict model.onnx`: the CSV of PyTorch's."""
    from deepshadows.cli.main import main
    from deepshadows.data import StoreWriter

    _, weights, _ = binary
    images = _images(N, seed=5)
    with StoreWriter(
        tmp_path / "cutouts.h5", n_total=N, feature_dtype=None, truth_dtype=None, attrs={"config": {}}
    ) as writer:
        writer.append(
            {
                "images": images,
                "label": np.full(N, -1),
                "kind": np.array([""] * N),
                "subclass": np.array([""] * N),
                "id": np.array([f"c{i}" for i in range(N)]),
            }
        )
        store = writer.finalize(np.array([""] * N), split_fractions=None, split_seed=None)
    onnx_file = tmp_path / "exported.onnx"
    assert main(["export", str(weights), "--onnx", str(onnx_file)]) == 0
    assert main(["export", str(weights), "--onnx", str(onnx_file)]) == 1  # exists: refused
    for model_path, csv_name in ((weights, "torch.csv"), (onnx_file, "onnx.csv")):
        args = ["predict", str(model_path), str(store), "--out", str(tmp_path / csv_name), "--quiet"]
        assert main([*args, "--precision", "fp32"]) == 0
    rows = {
        name: np.loadtxt(tmp_path / name, delimiter=",", skiprows=1, usecols=(1, 2))
        for name in ("torch.csv", "onnx.csv")
    }
    np.testing.assert_allclose(rows["onnx.csv"][:, 0], rows["torch.csv"][:, 0], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(rows["onnx.csv"][:, 1], rows["torch.csv"][:, 1])
    bad = main(
        ["predict", str(onnx_file), str(store), "--out", str(tmp_path / "x.csv"), "--precision", "bf16"]
    )
    assert bad == 1


def test_onnx_export_carries_the_calibration(binary, tmp_path):
    """A calibration beside the weights goes into the ONNX metadata, and predict applies it."""
    from PIL import Image

    from deepshadows.calibration import calibration_path, fit_calibration, write_calibration
    from deepshadows.predict import predict

    _, weights, _ = binary
    folder = tmp_path / "run"
    folder.mkdir()
    copy = folder / "model.safetensors"
    copy.write_bytes(weights.read_bytes())
    sidecar_path(copy).write_text(sidecar_path(weights).read_text())
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    calibration = fit_calibration(
        rng.normal(0, 3, 200) + 2 * labels,
        labels,
        weights_sha256=json.loads(sidecar_path(copy).read_text())["weights_sha256"],
    )
    write_calibration(calibration, calibration_path(folder))
    out = export_onnx(folder, tmp_path / "calibrated.onnx", check=False)
    carried = OnnxClassifier(out).metadata["calibration"]
    assert carried["method"] == "temperature"
    assert carried["temperature"] == pytest.approx(calibration.probability_map.temperature)
    images = tmp_path / "one.png"
    Image.fromarray(_images(1)[0]).save(images)
    result = predict(out, images, tmp_path / "p.csv", progress=False)
    assert result["probabilities"] == "calibrated"
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "id,probability,probability_uncalibrated,label"
