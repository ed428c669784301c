from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from deepshadows.cli.main import main
from deepshadows.errors import InputError
from deepshadows.store.reader import StoreWriter, open_store
from deepshadows.studies import (
    bootstrap_selection,
    flip_labels,
    noise_selection,
    plan_study,
    resplit_selection,
    run_study,
)
from deepshadows.training import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 96
SIZE = 16
TINY = TrainConfig(epochs=1, batch_size=16, lr=1.0, seed=3)


def write_split_store(path: Path) -> Path:
    """A labelled store with train/val/test splits: LSBGs carry a central blob."""
    rng = np.random.default_rng(1)
    kinds = np.array(["lsbg", "type2"] * (N // 2))
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    blob = np.exp(-(xx**2 + yy**2) / 8.0)
    images = 40 + rng.normal(0, 5, size=(N, SIZE, SIZE, 3))
    images += np.where(kinds == "lsbg", 40.0, 0.0)[:, None, None, None] * blob[None, :, :, None]
    split = np.array((["train"] * 12 + ["val"] * 2 + ["test"] * 2) * (N // 16))
    with StoreWriter(
        path,
        n_total=N,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {"synthetic": "studies"}},
        image_shape=(SIZE, SIZE, 3),
    ) as writer:
        writer.append(
            {
                "images": np.clip(images, 0, 255).astype(np.uint8),
                "label": (kinds == "lsbg").astype(np.int8),
                "kind": kinds,
                "subclass": np.where(kinds == "lsbg", "", "A"),
                "id": np.array([f"obj-{i:03d}" for i in range(N)]),
            }
        )
        return writer.finalize(split, split_fractions=(0.75, 0.125, 0.125), split_seed=0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_split_store(tmp_path_factory.mktemp("studies") / "store.h5")


# -- training sets ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.01, 0.1, 0.33, 0.5])
def test_random_noise_flips_equal_numbers_of_both_classes(level: float) -> None:
    labels = np.tile([0, 1], 500)
    rows = np.arange(0, 1000, 2)[:400].tolist() + np.arange(1, 1000, 2)[:400].tolist()
    rows = np.array(rows)
    noisy, flipped = flip_labels(labels, rows, level, "random", seed=5)
    n = round(level * rows.size)
    assert flipped.size == n == np.count_nonzero(noisy != labels)
    assert set(flipped) <= set(rows)
    assert np.count_nonzero(labels[flipped] == 1) == n // 2
    assert np.count_nonzero(labels[flipped] == 0) == n - n // 2
    again, _ = flip_labels(labels, rows, level, "random", seed=5)
    np.testing.assert_array_equal(noisy, again)


@pytest.mark.parametrize(("mode", "source"), [("artifacts-to-lsbg", 0), ("lsbg-to-artifacts", 1)])
def test_targeted_noise_flips_one_class_only(mode: str, source: int) -> None:
    labels = np.tile([0, 1], 300)
    rows = np.arange(600)
    noisy, flipped = flip_labels(labels, rows, 0.1, mode, seed=0)
    assert flipped.size == 60
    assert np.all(labels[flipped] == source)
    assert np.all(noisy[flipped] == 1 - source)
    untouched = np.setdiff1d(rows, flipped)
    np.testing.assert_array_equal(noisy[untouched], labels[untouched])


def test_noise_asking_more_than_a_class_holds() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    with pytest.raises(InputError, match="only 10"):
        flip_labels(labels, np.arange(100), 0.2, "lsbg-to-artifacts", seed=0)
    with pytest.raises(InputError, match="mode"):
        flip_labels(labels, np.arange(100), 0.2, "sideways", seed=0)


def test_resplits_keep_sizes_and_are_disjoint(store: Path) -> None:
    with open_store(store) as opened:
        sizes = [opened.indices(s).size for s in ("train", "val", "test")]
        original = opened.indices("test")
        first, test = resplit_selection(opened, seed=11)
        second, test2 = resplit_selection(opened, seed=11)
        other, test3 = resplit_selection(opened, seed=12)
        labels = opened.labels
    assert [first.train.size, first.val.size, test.size] == sizes
    union = np.concatenate([first.train, first.val, test])
    assert np.unique(union).size == union.size == N
    np.testing.assert_array_equal(test, test2)
    assert not np.array_equal(test, test3) and not np.array_equal(test, original)
    # stratified: each split keeps the class balance of the store
    assert abs(np.mean(labels[test]) - 0.5) <= 1 / test.size


def test_bootstrap_resample_has_the_training_size_and_repeats(store: Path) -> None:
    with open_store(store) as opened:
        train = opened.indices("train")
        sel, test = bootstrap_selection(opened, index=1, seed=0)
        same, _ = bootstrap_selection(opened, index=1, seed=0)
        other, _ = bootstrap_selection(opened, index=2, seed=0)
        np.testing.assert_array_equal(test, opened.indices("test"))
    assert sel.train.size == train.size
    assert set(sel.train) <= set(train)
    assert np.unique(sel.train).size < train.size  # drawn with replacement
    np.testing.assert_array_equal(sel.train, same.train)
    assert not np.array_equal(sel.train, other.train)
    assert sel.description["distinct_rows"] == np.unique(sel.train).size


def test_fit_trains_on_a_selection_and_records_it(tmp_path: Path, store: Path) -> None:
    with open_store(store) as opened:
        selection, _ = noise_selection(opened, 0.25, "random", seed=0)
    fit(store, tmp_path / "run", TINY, progress=False, selection=selection)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["selection"]["noise_level"] == 0.25
    assert (
        config["selection"]["flipped_artifact_to_lsbg"]
        == config["selection"]["flipped_lsbg_to_artifact"]
        == 9
    )
    # resuming the run on another selection is refused: it changes the training data
    with open_store(store) as opened:
        other, _ = noise_selection(opened, 0.5, "random", seed=0)
    with pytest.raises(InputError, match="different data store"):
        fit(
            store,
            tmp_path / "run",
            TINY.__class__(**{**TINY.to_dict(), "epochs": 2}),
            resume=True,
            progress=False,
            selection=other,
        )


# -- studies ------------------------------------------------------------------------------------


def test_label_noise_study_writes_tables_and_figures(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "noise"
    result = run_study(
        "label-noise",
        store,
        out,
        TINY,
        params={"levels": [0.1, 0.33], "mode": "random", "seed": 0},
        n_boot=50,
        progress=False,
    )
    assert list(result["results"]) == ["baseline", "noise_random_0.1", "noise_random_0.33"]
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("model,run,split,")
    assert [r.split(",")[0] for r in rows[1:]] == ["baseline", "10 % random", "33 % random"]
    for name in ("results.md", "roc_curves.png", "tpr_ratio.png", "study.json"):
        assert (out / name).stat().st_size > 0
    noisy = json.loads((out / "runs" / "noise_random_0.33" / "result.json").read_text())
    assert (
        noisy["selection"]["flipped_lsbg_to_artifact"] + noisy["selection"]["flipped_artifact_to_lsbg"] == 24
    )
    assert noisy["n_test"] == 12
    assert json.loads((out / "study.json").read_text())["provenance"]["versions"]


def test_resumed_study_skips_finished_runs(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "splits"
    params = {"seeds": 2}
    run_study("splits", store, out, TINY, params=params, n_boot=20, progress=False)
    # as if killed during the last run: its result is missing, its checkpoint present
    (out / "runs" / "split_seed_2" / "result.json").unlink()
    trained: list[str] = []
    fit_module = importlib.import_module("deepshadows.training.fit")

    real_fit = fit_module.fit

    def counting_fit(store_path, out_dir, cfg, **kwargs):
        trained.append(Path(out_dir).name)
        return real_fit(store_path, out_dir, cfg, **kwargs)

    monkeypatch.setattr(fit_module, "fit", counting_fit)
    with pytest.raises(InputError, match="--resume"):
        run_study("splits", store, out, TINY, params=params, n_boot=20, progress=False)
    lines: list[str] = []
    result = run_study(
        "splits", store, out, TINY, params=params, n_boot=20, progress=False, resume=True, log=lines.append
    )
    assert trained == ["split_seed_2"]
    assert result["skipped"] == ["baseline", "split_seed_1"]
    assert lines[0] == "2 of 3 runs already finished; 1 to run"
    # a study grows: one more split trains one more run
    trained.clear()
    grown = run_study("splits", store, out, TINY, params={"seeds": 3}, n_boot=20, progress=False, resume=True)
    assert trained == ["split_seed_3"] and len(grown["results"]) == 4
    assert len((out / "results.csv").read_text().splitlines()) == 5
    # other training settings cannot resume the study
    longer = TrainConfig(**{**TINY.to_dict(), "epochs": 2})
    with pytest.raises(InputError, match="other settings"):
        run_study("splits", store, out, longer, params=params, n_boot=20, progress=False, resume=True)


def test_bootstrap_train_study_reports_both_intervals(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "boot"
    run_study(
        "bootstrap-train", store, out, TINY, params={"n": 3, "seed": 0}, n_boot=30, progress=False, jobs=2
    )
    header, *rows = (out / "intervals.csv").read_text().splitlines()
    assert header.split(",")[:3] == ["metric", "value", "test_low"]
    assert [r.split(",")[0] for r in rows] == ["accuracy", "completeness", "purity", "auc"]
    seeds = {
        json.loads(p.read_text())["identity"]["train"]["seed"] for p in (out / "runs").glob("*/result.json")
    }
    assert seeds == {3, 4, 5, 6}
    assert (out / "intervals.png").stat().st_size > 0


def test_plan_validates_parameters(tmp_path: Path, store: Path) -> None:
    with pytest.raises(InputError, match="--levels"):
        plan_study("label-noise", store, tmp_path, TINY, params={"levels": [1.5], "mode": "random"})
    with pytest.raises(InputError, match="--seeds"):
        plan_study("splits", store, tmp_path, TINY, params={"seeds": 0})
    with pytest.raises(InputError, match="--n"):
        plan_study("bootstrap-train", store, tmp_path, TINY, params={"n": 1})
    with pytest.raises(InputError, match="kind"):
        plan_study("dropout", store, tmp_path, TINY, params={})


def test_cli_label_noise_takes_several_levels(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    args = [
        "study",
        "label-noise",
        "--data",
        str(store),
        "--out",
        str(out),
        "--levels",
        "0.05",
        "0.2",
        "--targeted",
        "artifacts-to-lsbg",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--n-boot",
        "20",
        "--quiet",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "5 % artifacts-to-lsbg" in text and "20 % artifacts-to-lsbg" in text
    run = json.loads((out / "runs" / "noise_artifacts-to-lsbg_0.2" / "result.json").read_text())
    assert run["selection"]["flipped_lsbg_to_artifact"] == 0
    assert run["selection"]["flipped_artifact_to_lsbg"] == 14
    assert (
        main(
            [
                "study",
                "label-noise",
                "--data",
                str(store),
                "--out",
                str(tmp_path / "x"),
                "--levels",
                "0.1",
                "zero",
            ]
        )
        == 2
    )


def test_a_failed_run_loses_no_other_and_resume_retries_it(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepshadows.failures import failures_path

    out = tmp_path / "noise"
    fit_module = importlib.import_module("deepshadows.training.fit")
    real_fit = fit_module.fit

    def failing_fit(store_path, out_dir, cfg, **kwargs):
        if Path(out_dir).name == "noise_random_0.1":
            raise RuntimeError("CUDA out of memory")
        return real_fit(store_path, out_dir, cfg, **kwargs)

    monkeypatch.setattr(fit_module, "fit", failing_fit)
    params = {"levels": [0.1, 0.33], "mode": "random", "seed": 3}
    cfg = TrainConfig(epochs=1, batch_size=16, lr=1.0, seed=3, device="cpu", patience=None, precision="auto")
    lines: list[str] = []
    result = run_study(
        "label-noise", store, out, cfg, params=params, n_boot=20, progress=False, log=lines.append
    )
    assert list(result["results"]) == ["baseline", "noise_random_0.33"]
    (bad,) = result["failed"]
    assert (bad.row, bad.ident, bad.reason) == (2, "noise_random_0.1", "RuntimeError: CUDA out of memory")
    assert (
        result["failures_path"] == failures_path(out) and "noise_random_0.1" in failures_path(out).read_text()
    )
    assert "noise_random_0.1: failed (RuntimeError: CUDA out of memory); --resume runs it again" in lines
    assert lines[-1] == f"1 of 3 runs failed; they are listed in {failures_path(out)}"
    rows = (out / "results.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["baseline", "33 % random"]

    args = ["study", "label-noise", "--data", str(store), "--out", str(out), "--levels", "0.1", "0.33"]
    args += ["--epochs", "1", "--batch-size", "16", "--lr", "1.0", "--seed", "3", "--n-boot", "20"]
    args += ["--quiet", "--resume"]
    assert main(args) == 3
    assert "1 of 3 rows are not finished (--resume runs them again)" in capsys.readouterr().err
    monkeypatch.setattr(fit_module, "fit", real_fit)
    assert main(args) == 0
    assert not failures_path(out).exists()
    assert len((out / "results.csv").read_text().splitlines()) == 4
