from __future__ import annotations

import csv
import json
import math

import matplotlib
import numpy as np
import pytest
from PIL import Image

from deepshadows.errors import InputError
from deepshadows.evaluation import (
    BINARY_METRICS,
    CALIBRATION_METRICS,
    Interval,
    binary_metrics,
    bootstrap_metrics,
    calibration_metrics,
    evaluate_predictions,
    load_roc,
    metrics_table,
    multiclass_metrics,
    plot_confusion,
    plot_probability_histogram,
    plot_roc,
    reduce_to_binary,
    roc_band,
)

N_BOOT = 200


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 800)
    score = rng.normal(0, 1, y.size) + 2.2 * y
    return y, 1 / (1 + np.exp(-1.5 * (score - 1.1)))


@pytest.fixture
def three_class_data():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 900)
    logits = rng.normal(0, 1, (y.size, 3))
    logits[np.arange(y.size), y] += 2.0
    prob = np.exp(logits)
    return y, prob / prob.sum(axis=1, keepdims=True)


def test_evaluate_binary_writes_every_file(tmp_path, binary_data):
    y, p = binary_data
    backend = matplotlib.get_backend()
    out = tmp_path / "cnn" / "test"
    res = evaluate_predictions(y, p, out, name="CNN", n_boot=N_BOOT, seed=3, extra={"epochs": 100, "lr": 0.1})
    expected = {"metrics.json", "metrics.md", "metrics.csv", "roc.png", "confusion.png", "probabilities.png"}
    expected |= {"roc.npz", "reliability.png", "completeness_purity.png"}
    assert {f.name for f in out.iterdir()} == expected
    assert res["files"] == sorted(expected)
    pngs = ("roc.png", "confusion.png", "probabilities.png", "reliability.png", "completeness_purity.png")
    for png in pngs:
        w, h = png_size(out / png)
        assert 300 < w < 1200 and 300 < h < 1200
    assert matplotlib.get_backend() == backend

    # JSON round trip: the returned dict is what was written.
    assert json.loads((out / "metrics.json").read_text()) == res
    point = binary_metrics(y, p) | calibration_metrics(y, p)
    intervals = bootstrap_metrics(y, p, n_boot=N_BOOT, seed=3, calibration=True)
    for m in BINARY_METRICS + CALIBRATION_METRICS:
        assert res["metrics"][m] == pytest.approx(point[m])
        assert res["intervals"][m] == pytest.approx(intervals[m].to_dict())
    assert res["n"] == 800 and res["n_classes"] == 2 and res["n_boot"] == N_BOOT and res["seed"] == 3
    assert res["threshold"] == 0.5 and res["level"] == 0.95
    assert res["support"] == {"artifact": int((y == 0).sum()), "LSBG": int((y == 1).sum())}
    assert res["extra"] == {"epochs": 100, "lr": 0.1}
    counts = np.array(res["confusion"]["counts"])
    assert counts.sum() == 800 and counts[1].sum() == (y == 1).sum()
    np.testing.assert_allclose(np.array(res["confusion"]["normalized"]).sum(axis=1), 1.0)
    assert "multiclass" not in res

    md = (out / "metrics.md").read_text()
    acc = Interval.from_dict(res["intervals"]["accuracy"])
    assert f"| accuracy | {acc.value:.3f} | [{acc.low:.3f}, {acc.high:.3f}] |" in md
    assert "| metric | value | 95% interval |" in md
    assert "- epochs: 100" in md

    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert [r["metric"] for r in rows] == list(BINARY_METRICS + CALIBRATION_METRICS)
    assert float(rows[3]["low"]) == pytest.approx(res["intervals"]["auc"]["low"])

    curve = load_roc(out)
    assert curve["name"] == "CNN" and curve["level"] == 0.95
    assert curve["fpr"].shape == curve["tpr"].shape == curve["low"].shape == (201,)
    assert curve["auc"] == Interval.from_dict(res["intervals"]["auc"])
    band = roc_band(y, p, n_boot=N_BOOT, seed=3)
    np.testing.assert_allclose(curve["high"], band["high"])


def test_evaluate_three_classes(tmp_path, three_class_data):
    y, prob = three_class_data
    names = ("LSBG", "artifact 1", "artifact 2")
    res = evaluate_predictions(y, prob, tmp_path, name="CNN-3", n_boot=N_BOOT, class_names=names)
    files = {f.name for f in tmp_path.iterdir()}
    assert "confusion_binary.png" in files and "roc.npz" in files
    assert files == set(res["files"])
    for f in files:
        if f.endswith(".png"):
            png_size(tmp_path / f)
    assert json.loads((tmp_path / "metrics.json").read_text()) == res

    mc = multiclass_metrics(y, prob, class_names=names)
    assert res["multiclass"]["confusion"] == mc["confusion"].tolist()
    assert np.array(res["multiclass"]["confusion"]).shape == (3, 3)
    assert res["multiclass"]["accuracy"] == pytest.approx(mc["accuracy"])
    # The LSBG-versus-rest view is the binary evaluation of the reduced problem.
    yb, pb = reduce_to_binary(y, prob)
    assert res["metrics"] == pytest.approx(binary_metrics(yb, pb) | calibration_metrics(yb, pb))
    assert res["confusion"]["class_names"] == ["artifact 1 + artifact 2", "LSBG"]
    assert np.array(res["confusion"]["counts"]).shape == (2, 2)
    merged = np.array(res["binary"]["argmax_confusion_counts"])
    assert merged[1, 1] == mc["confusion"][0, 0] and merged.sum() == y.size
    md = (tmp_path / "metrics.md").read_text()
    assert "## LSBG vs rest (artifact 1 + artifact 2)" in md and "## 3 classes" in md
    metrics = [r["metric"] for r in csv.DictReader((tmp_path / "metrics.csv").read_text().splitlines())]
    assert "completeness[artifact 2]" in metrics and "auc" in metrics
    assert load_roc(tmp_path / "roc.npz")["auc"].value == pytest.approx(res["metrics"]["auc"])


def test_evaluate_without_lsbg_class_and_two_columns(tmp_path, three_class_data):
    y, prob = three_class_data
    res = evaluate_predictions(y, prob, tmp_path / "k", n_boot=50, class_names=("a", "b", "c"))
    assert "intervals" not in res and "binary" not in res
    assert (tmp_path / "k" / "roc.png").exists() and (tmp_path / "k" / "confusion.png").exists()
    assert metrics_table({"k": res}).splitlines()[-1] == "| k | – | – | – | – |"

    # A two-column softmax with LSBG in column 1 scores like the binary probability.
    yb = (y == 0).astype(int)
    two = np.column_stack([1 - prob[:, 0], prob[:, 0]])
    res2 = evaluate_predictions(yb, two, tmp_path / "two", n_boot=50)
    res1 = evaluate_predictions(yb, prob[:, 0], tmp_path / "one", n_boot=50)
    assert res2["intervals"] == res1["intervals"]


def test_undefined_metrics_are_null(tmp_path):
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([0.1, 0.3, 0.2, 0.4, 0.45, 0.05])  # nothing above the threshold
    res = evaluate_predictions(y, p, tmp_path, n_boot=50)
    assert res["metrics"]["purity"] is None and res["intervals"]["purity"]["low"] is None
    assert res["metrics"]["auc"] == 1.0
    assert "| purity | nan | [nan, nan] |" in (tmp_path / "metrics.md").read_text()
    assert "purity,,," in (tmp_path / "metrics.csv").read_text()
    assert json.loads((tmp_path / "metrics.json").read_text()) == res


def test_metrics_table(binary_data):
    y, p = binary_data
    table = metrics_table(
        {
            "CNN": {"intervals": {m: Interval(0.92, 0.9123, 0.9271) for m in BINARY_METRICS}},
            "SVM": bootstrap_metrics(y, p, n_boot=50),
            "RF": binary_metrics(y, p),
            "partial": {"accuracy": 0.5},
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| model | accuracy | completeness | purity | AUC |"
    assert lines[2] == "| CNN | " + " | ".join(["0.920 [0.912, 0.927]"] * 4) + " |"
    assert lines[3].startswith("| SVM | 0.") and lines[3].count("[") == 4
    assert lines[4].startswith("| RF | ") and "[" not in lines[4]
    assert lines[5] == "| partial | 0.500 | – | – | – |"
    assert table.endswith("\n")
    with pytest.raises(InputError, match="results"):
        metrics_table({})


def test_bad_inputs_raise(tmp_path, binary_data, three_class_data):
    y, p = binary_data
    with pytest.raises(InputError, match="prob: has 799 rows"):
        evaluate_predictions(y, p[:-1], tmp_path / "a", n_boot=10)
    with pytest.raises(InputError, match="y_true: both 'artifact' and 'LSBG'"):
        evaluate_predictions(np.ones(10, int), np.linspace(0, 1, 10), tmp_path / "b", n_boot=10)
    with pytest.raises(InputError, match="class_names"):
        evaluate_predictions(*three_class_data, tmp_path / "c", n_boot=10)
    with pytest.raises(InputError, match="y_true: labels must lie in 0..1"):
        evaluate_predictions(y + 1, p, tmp_path / "d", n_boot=10)
    with pytest.raises(InputError, match="prob: is empty"):
        evaluate_predictions([], [], tmp_path / "e", n_boot=10)
    with pytest.raises(InputError, match="n_boot"):
        evaluate_predictions(y, p, tmp_path / "f", n_boot=0)
    with pytest.raises(InputError, match="name"):
        evaluate_predictions(y, p, tmp_path / "g", name="", n_boot=10)
    with pytest.raises(InputError, match="extra"):
        evaluate_predictions(y, p, tmp_path / "h", n_boot=10, extra=[1, 2])
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="out_dir"):
        evaluate_predictions(y, p, tmp_path / "file", n_boot=10)
    with pytest.raises(InputError, match="ROC file not found"):
        load_roc(tmp_path / "missing.npz")
    # Nothing half-written was left behind.
    assert sorted(f.name for f in tmp_path.iterdir()) == ["file"]


def test_figures(tmp_path, binary_data):
    y, p = binary_data
    band = roc_band(y, p, n_boot=50)
    plain = {"fpr": band["fpr"], "tpr": band["tpr"] ** 2, "auc": 0.81}
    out = plot_roc({"CNN": band, "baseline": plain}, tmp_path / "roc.png", title="two models")
    assert out == tmp_path / "roc.png"
    png_size(out)
    with pytest.raises(InputError, match="curves"):
        plot_roc({}, tmp_path / "x.png")
    with pytest.raises(InputError, match="fpr"):
        plot_roc({"bad": {"tpr": [0, 1]}}, tmp_path / "x.png")

    cm = np.array([[0.9, 0.1], [0.05, 0.95]])
    png_size(plot_confusion(cm, tmp_path / "cm.png", class_names=("artifact", "LSBG")))
    png_size(plot_confusion(np.eye(4), tmp_path / "cm4.png", class_names="abcd", counts=np.eye(4) * 10))
    with pytest.raises(InputError, match="class_names"):
        plot_confusion(cm, tmp_path / "x.png", class_names=("a", "b", "c"))
    with pytest.raises(InputError, match="counts"):
        plot_confusion(cm, tmp_path / "x.png", class_names=("a", "b"), counts=np.ones((3, 3)))
    with pytest.raises(InputError, match="matrix_normalized"):
        plot_confusion(np.ones((2, 3)), tmp_path / "x.png", class_names=("a", "b"))

    png_size(plot_probability_histogram(y, p, tmp_path / "hist.png", threshold=None, bins=10))
    with pytest.raises(InputError, match="prob"):
        plot_probability_histogram(y, p[:10], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert not math.isnan(band["auc"].value)
