from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepshadows.baselines import (
    SEARCH_GRIDS,
    feature_matrix,
    load_baseline,
    make_baseline,
    positive_scores,
    run_baselines,
    save_baseline,
)
from deepshadows.cli.main import main
from deepshadows.data import StoreWriter, open_store
from deepshadows.errors import InputError
from deepshadows.evaluation.compare import compare_models
from deepshadows.simulate import SimConfig, make_dataset

SMALL_GRIDS = {
    "svm": {"model__C": [10.0, 1e4], "model__gamma": [1e-3, 1e-2]},
    "rf": {"model__n_estimators": [20, 40], "model__min_samples_split": [2, 10]},
}


def _pipeline_exceptions(_estimator) -> dict[str, str]:
    # A Pipeline fits the step objects it was given (scikit-learn's own meta-estimator design),
    # so its `steps` parameter holds fitted steps afterwards; everything else applies.
    reason = "Pipeline fits its steps in place"
    return {
        "check_estimators_overwrite_params": reason,
        "check_dont_overwrite_parameters": reason,
        # Failed measurements are NaN and imputed by design (feature_matrix maps inf to NaN).
        "check_estimators_nan_inf": "missing features are imputed, not refused",
    }


@parametrize_with_checks(
    [make_baseline("svm"), make_baseline("rf", n_estimators=10)], expected_failed_checks=_pipeline_exceptions
)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 simulated DES objects with their 19 features (LSBGs and type-2 artifacts)."""
    cfg = SimConfig(n=400, seed=3, image_size=32)
    return make_dataset(tmp_path_factory.mktemp("sim") / "des.h5", cfg, workers=1, progress=False)


@pytest.fixture(scope="module")
def paper_run(simulated: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("baselines")
    return run_baselines(simulated, out, n_boot=100, n_jobs=1)


def test_both_baselines_beat_chance_and_are_evaluated_like_the_cnn(paper_run: dict) -> None:
    out = Path(paper_run["out_dir"])
    for kind in ("svm", "rf"):
        evaluation = paper_run["models"][kind]["evaluation"]
        assert evaluation["metrics"]["auc"] > 0.7
        assert evaluation["metrics"]["accuracy"] > 0.6
        for name in (
            "metrics.json",
            "metrics.md",
            "roc.npz",
            "roc.png",
            "confusion.png",
            "model.skops",
            "model.json",
        ):
            assert (out / kind / name).is_file(), name
        assert set(evaluation["intervals"]["auc"]) >= {"value", "low", "high"}
    assert paper_run["models"]["svm"]["params"] == {"C": 1e4, "gamma": 1e-3}
    config = json.loads((out / "config.json").read_text())
    assert config["search"] is False and config["chosen"]["rf"]["min_samples_split"] == 10


def test_saved_models_reload_without_pickle_and_score_the_same(paper_run: dict, simulated: Path) -> None:
    with open_store(simulated) as store:
        x, _, _ = feature_matrix(store, "test")
    for kind in ("svm", "rf"):
        pipeline, meta = load_baseline(Path(paper_run["out_dir"]) / kind / "model.skops")
        assert meta["model"] == kind and len(meta["features"]) == 19
        scores = positive_scores(pipeline, x)
        stored = paper_run["models"][kind]["evaluation"]["metrics"]
        from deepshadows.metrics.scores import binary_metrics

        with open_store(simulated) as store:
            y = store.labels[store.indices("test")]
        assert binary_metrics(y, scores)["auc"] == pytest.approx(stored["auc"])


def test_search_picks_values_from_its_grid(simulated: Path, tmp_path: Path) -> None:
    result = run_baselines(simulated, tmp_path, search=True, grids=SMALL_GRIDS, folds=3, n_boot=50, n_jobs=1)
    for kind, grid in SMALL_GRIDS.items():
        params = result["models"][kind]["params"]
        for key, values in grid.items():
            assert params[key.split("__", 1)[1]] in values
        cv = result["models"][kind]["search"]
        assert len(cv["grid"]) == 4 and 0.5 < cv["best_cv_auc"] <= 1.0
    assert set(SEARCH_GRIDS["svm"]["model__C"]) >= {1e4} and set(SEARCH_GRIDS["svm"]["model__gamma"]) >= {
        1e-3
    }


def test_nan_features_do_not_crash() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 19))
    y = (x[:, 0] > 0).astype(int)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 5] = np.nan  # a feature that never measured
    for kind in ("svm", "rf"):
        pipeline = make_baseline(kind).fit(x, y)
        scores = positive_scores(pipeline, x)
        assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
        np.testing.assert_array_equal(scores > 0.5, pipeline.predict(x) == 1)


def test_missing_feature_columns_are_named(tmp_path: Path) -> None:
    few = np.dtype([("ellipticity", "f4"), ("g_r", "f4")])
    with StoreWriter(
        tmp_path / "few.h5", n_total=8, feature_dtype=few, truth_dtype=None, attrs={"config": {}}
    ) as writer:
        writer.append(
            {
                "images": np.zeros((8, 64, 64, 3), np.uint8),
                "label": np.array([0, 1] * 4),
                "kind": np.array(["type2", "lsbg"] * 4),
                "subclass": np.array(["A", ""] * 4),
                "id": np.array([f"r{i}" for i in range(8)]),
                "features": np.zeros(8, few),
                "feature_flag": np.zeros(8, np.int16),
            }
        )
        store = writer.finalize(np.array(["train"] * 4 + ["test"] * 4), split_fractions=None, split_seed=None)
    with pytest.raises(InputError, match="lacks column.*g_i"):
        run_baselines(store, tmp_path / "out")
    assert main(["baselines", str(store), "--out", str(tmp_path / "cli")]) == 1


class Foreign:
    """A type outside scikit-learn, NumPy and SciPy."""

    def __init__(self) -> None:
        self.value = 1


def test_tampered_or_foreign_files_are_refused(paper_run: dict, tmp_path: Path) -> None:
    source = Path(paper_run["out_dir"]) / "rf" / "model.skops"
    pipeline, meta = load_baseline(source)
    path = save_baseline(pipeline, tmp_path / "rf.skops", metadata=meta)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(InputError, match="does not match its sidecar"):
        load_baseline(path)
    pipeline.foreign_attribute = Foreign()
    path = save_baseline(pipeline, tmp_path / "foreign.skops", metadata=meta)
    with pytest.raises(InputError, match="outside scikit-learn"):
        load_baseline(path)
    with pytest.raises(InputError, match="not found"):
        load_baseline(tmp_path / "absent.skops")


def test_compare_writes_table_2_and_figure_4a(paper_run: dict, tmp_path: Path) -> None:
    result = compare_models([paper_run["out_dir"]], tmp_path / "cmp")
    assert list(result["models"]) == ["SVM", "random forest"]  # the order they were run in
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| SVM |" in table and "| random forest |" in table and "[" in table
    rows = (tmp_path / "cmp" / "comparison.csv").read_text().splitlines()
    head = "model,architecture,members,parameters,calibration,n,accuracy,accuracy_low,accuracy_high"
    assert rows[0].startswith(head) and len(rows) == 3
    assert rows[1].startswith("SVM,svm,1,,,") and rows[2].startswith("random forest,random-forest,1,,,")
    assert (tmp_path / "cmp" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["compare", paper_run["out_dir"], "--out", str(tmp_path / "cli")]) == 0
    assert main(["compare", str(tmp_path / "cmp"), "--out", str(tmp_path / "bad")]) == 1


def _feature_store(path: Path, n_train: int, n_test: int, unmeasured: dict[int, int]) -> Path:
    """A store of separable features; rows in ``unmeasured`` have none, with that flag."""
    from deepshadows.data.fits import feature_dtype

    n = n_train + n_test
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    values = rng.normal(size=(n, len(feature_dtype().names))) + 2.0 * labels[:, None]
    flags = np.zeros(n, np.int16)
    for row, flag in unmeasured.items():
        values[row] = np.nan
        flags[row] = flag
    features = np.array([tuple(v) for v in values], dtype=feature_dtype())
    with StoreWriter(
        path, n_total=n, feature_dtype=feature_dtype(), truth_dtype=None, attrs={"config": {}}
    ) as w:
        w.append(
            {
                "images": np.zeros((n, 64, 64, 3), np.uint8),
                "label": labels,
                "kind": np.where(labels == 1, "lsbg", "type2"),
                "subclass": np.where(labels == 1, "", "A"),
                "id": np.array([f"r{i}" for i in range(n)]),
                "features": features,
                "feature_flag": flags,
            }
        )
        return w.finalize(
            np.array(["train"] * n_train + ["test"] * n_test), split_fractions=None, split_seed=None
        )


def test_rows_without_features_are_counted_and_kept(tmp_path: Path, capsys) -> None:
    store = _feature_store(tmp_path / "s.h5", 40, 16, {0: 1, 3: 2, 5: 1, 41: 2})
    out = tmp_path / "out"
    lines: list[str] = []
    result = run_baselines(store, out, models=("rf",), n_boot=20, n_jobs=1, log=lines.append)
    assert [(b.row, b.ident, b.split) for b in result["unmeasured"]] == [
        (1, "r0", "train"),
        (4, "r3", "train"),
        (6, "r5", "train"),
        (42, "r41", "test"),
    ]
    assert result["unmeasured"][0].reason.startswith("no source detected")
    assert result["unmeasured"][1].reason.startswith("feature measurement failed")
    assert result["models"]["rf"]["n_test"] == 16 and result["config"]["unmeasured"] == {
        "train": 3,
        "test": 1,
    }
    assert result["models"]["rf"]["evaluation"]["extra"]["n_unmeasured"] == 1
    assert lines[0] == (
        "3 of 40 train rows have no measured feature (1 feature measurement failed; "
        "2 no source detected); they are kept, imputed with the training medians"
    )
    assert lines[1].startswith("1 of 16 test rows have no measured feature")
    args = ["baselines", str(store), "--out", str(out), "--model", "rf", "--n-boot", "20", "--jobs", "1"]
    assert main(args) == 0
    assert "3 of 40 train rows have no measured feature" in capsys.readouterr().out


def test_too_few_measured_rows_of_a_class_are_refused(tmp_path: Path) -> None:
    # every LSBG of the train split (odd rows) but one has no features
    store = _feature_store(tmp_path / "s.h5", 20, 8, {r: 1 for r in range(1, 19, 2)})
    with pytest.raises(
        InputError,
        match=r"split 'train' has 10 artifacts and 1 LSBGs with measured features \(9 rows have none\)",
    ):
        run_baselines(store, tmp_path / "out", models=("rf",), n_boot=20, n_jobs=1)
    assert main(["baselines", str(store), "--out", str(tmp_path / "cli"), "--model", "rf"]) == 1
