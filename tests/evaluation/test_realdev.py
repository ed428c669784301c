from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.errors import InputError
from deepshadows.evaluation import binary_metrics, bootstrap_metrics
from deepshadows.evaluation.realdev import (
    REALDEV_ENV,
    load_realdev,
    realdev_groups,
    realdev_probabilities,
    resolve_realdev_path,
    score_probabilities,
    score_realdev,
    to_json,
)
from deepshadows.models import create_model, save_model
from deepshadows.predict import logits_to_probabilities
from deepshadows.predict.loading import load_classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# 16 random cutouts on ls-dr9, 24 model-selected: 12 des-dr1 and 12 ls-dr9.
N_RANDOM, N_SELECTED = 16, 24


def fake_fields(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = N_RANDOM + N_SELECTED
    selection = np.array(["random"] * N_RANDOM + ["model_selected"] * N_SELECTED)
    layer = np.array(["ls-dr9"] * N_RANDOM + ["des-dr1"] * 12 + ["ls-dr9"] * 12)
    label = np.tile([1, 0], n // 2).astype(np.int8)
    # the selecting model's outcome: LSBGs alternate TP / FN, artifacts TN / FP
    decision = np.array([""] * N_RANDOM + [("TP", "TN", "FN", "FP")[i % 4] for i in range(N_SELECTED)])
    return {
        "images": rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8),
        "label": label,
        "selection": selection,
        "layer": layer,
        "model_decision": decision,
        "model_p_range": np.array([""] * N_RANDOM + ["P<0.2"] * N_SELECTED),
        "resize_method": np.where(layer == "des-dr1", "bicubic", "exact"),
        "source": np.array([f"panel {i:03d}" for i in range(n)]),
    }


def write_npz(path: Path, fields: dict[str, np.ndarray]) -> Path:
    np.savez(path, **fields)
    return path


@pytest.fixture(scope="module")
def realdev_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_npz(tmp_path_factory.mktemp("realdev") / "realdev.npz", fake_fields())


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("run")
    save_model(create_model("deepshadows-table1"), folder, metadata={"class_names": ["artifact", "lsbg"]})
    return folder


@pytest.fixture(scope="module")
def scored(run_dir: Path, realdev_file: Path) -> dict:
    return score_realdev(run_dir, realdev_file, n_boot=200, seed=3)


def test_load_validates_and_keeps_optional_fields(realdev_file: Path) -> None:
    data = load_realdev(realdev_file)
    assert len(data) == N_RANDOM + N_SELECTED
    assert data.images.shape == (40, 64, 64, 3) and data.label.dtype == np.int64
    assert sorted(data.extra) == ["model_p_range", "resize_method", "source"]


def test_groups_stay_within_one_selection(realdev_file: Path) -> None:
    data = load_realdev(realdev_file)
    groups = realdev_groups(data)
    assert list(groups) == [
        "random",
        "random / ls-dr9",
        "model_selected",
        "model_selected / des-dr1",
        "model_selected / ls-dr9",
        "model_selected / TP",
        "model_selected / TN",
        "model_selected / FP",
        "model_selected / FN",
    ]
    for group in groups.values():
        assert set(data.selection[group["mask"]]) == {group["selection"]}
    counts = {name: int(g["mask"].sum()) for name, g in groups.items()}
    assert counts["random"] == counts["random / ls-dr9"] == N_RANDOM
    assert counts["model_selected"] == N_SELECTED
    assert counts["model_selected / des-dr1"] == counts["model_selected / ls-dr9"] == 12
    assert sum(counts[f"model_selected / {d}"] for d in ("TP", "TN", "FP", "FN")) == N_SELECTED


def test_numbers_are_the_shared_metrics_on_each_subset(
    run_dir: Path, realdev_file: Path, scored: dict
) -> None:
    data = load_realdev(realdev_file)
    classify, _ = load_classifier(run_dir, precision="fp32")
    prob = logits_to_probabilities(classify(data.images, 64))
    np.testing.assert_array_equal(scored["probabilities"], prob)
    assert scored["threshold"] == 0.5 and scored["n"] == 40
    for name, group in realdev_groups(data).items():
        mask = group["mask"]
        result = scored["groups"][name]
        assert result["n"] == mask.sum()
        assert result["n_lsbg"] == data.label[mask].sum()
        assert result["n_artifact"] == (data.label[mask] == 0).sum()
        expected = bootstrap_metrics(data.label[mask], prob[mask], n_boot=200, seed=3)
        np.testing.assert_equal(
            {m: iv.to_dict() for m, iv in result["intervals"].items()},
            {m: iv.to_dict() for m, iv in expected.items()},
        )
        point = binary_metrics(data.label[mask], prob[mask])
        for metric, value in point.items():
            assert result["intervals"][metric].value == pytest.approx(value, nan_ok=True)


def test_one_class_groups_have_no_auc(scored: dict) -> None:
    assert np.isnan(scored["groups"]["model_selected / TP"]["intervals"]["auc"].value)
    assert not np.isnan(scored["groups"]["random"]["intervals"]["auc"].value)


def test_json_is_strict(scored: dict) -> None:
    text = json.dumps(to_json({k: v for k, v in scored.items() if k != "probabilities"}), allow_nan=False)
    back = json.loads(text)
    assert back["groups"]["model_selected / TP"]["intervals"]["auc"]["value"] is None
    assert back["groups"]["random"]["selection"] == "random"


def test_score_probabilities_checks_length(realdev_file: Path) -> None:
    data = load_realdev(realdev_file)
    with pytest.raises(InputError, match="prob: expected shape"):
        score_probabilities(data, np.full(3, 0.5))


def test_released_model_by_name(realdev_file: Path) -> None:
    prob = realdev_probabilities("des", load_realdev(realdev_file))
    assert prob.shape == (40,) and ((prob >= 0) & (prob <= 1)).all()


def test_path_from_environment(realdev_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REALDEV_ENV, str(realdev_file))
    assert resolve_realdev_path() == realdev_file
    assert len(load_realdev()) == 40


def test_no_path_names_the_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REALDEV_ENV, raising=False)
    with pytest.raises(InputError, match=f"realdev.*{REALDEV_ENV}"):
        load_realdev()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothere.npz: development set not found"):
        load_realdev(tmp_path / "nothere.npz")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="bad.npz: not a readable .npz"):
        load_realdev(path)


def _drop(name: str):
    return lambda f: {k: v for k, v in f.items() if k != name}


def _set(name: str, value):
    return lambda f: {**f, name: value(f) if callable(value) else value}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("layer"), "missing field.*layer"),
        (_set("images", lambda f: f["images"].astype(np.float32)), "field 'images' must be uint8"),
        (_set("images", lambda f: f["images"][:, :32]), r"field 'images'.*\(N, 64, 64, 3\)"),
        (_set("label", lambda f: f["label"][:-1]), "field 'label' has shape"),
        (_set("label", lambda f: np.where(f["label"] == 1, 2, 0)), "field 'label'.*found \\[2\\]"),
        (
            _set("selection", lambda f: np.where(f["selection"] == "random", "rand", "model_selected")),
            "field 'selection' holds \\['rand'\\]",
        ),
        (_set("selection", lambda f: np.arange(40)), "field 'selection' must hold strings"),
        (_set("layer", lambda f: np.where(np.arange(40) == 3, "", f["layer"])), "'layer' is empty in 1"),
        (
            _set("model_decision", lambda f: np.where(np.arange(40) == 30, "XX", f["model_decision"])),
            "field 'model_decision' must be one of TP, TN, FP, FN",
        ),
        (_set("source", lambda f: f["source"][:5]), "field 'source' has shape"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, change, message: str) -> None:
    path = write_npz(tmp_path / "realdev.npz", change(fake_fields()))
    with pytest.raises(InputError, match=message) as info:
        load_realdev(path)
    assert "realdev.npz" in str(info.value)
