"""Small output folders of every kind, written by the project's own writers on fake predictions."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepshadows._provenance import provenance
from deepshadows.evaluation import evaluate_predictions, plot_roc
from deepshadows.evaluation.compare import compare_models, write_metrics_tables

N_BOOT = 20


def write_png(
    path: Path, size: tuple[int, int] = (60, 40), color: tuple[int, int, int] = (40, 90, 160)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, color)
    image.paste((250, 200, 30), (5, 5, size[0] // 2, size[1] // 2))
    image.save(path, format="PNG")
    return path


def write_json(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def fake_binary(seed: int, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    score = rng.normal(0, 1, n) + 2.0 * y
    return y, 1 / (1 + np.exp(-(score - 1.0)))


def evaluate(out: Path, seed: int, name: str, **extra) -> dict:
    y, p = fake_binary(seed)
    return evaluate_predictions(
        y, p, out, name=name, n_boot=N_BOOT, seed=0, class_names=("artifact", "lsbg"), extra=extra
    )


def write_training_run(run: Path, *, epochs: int = 3, planned: int = 5, figure: bool = True) -> Path:
    """A training run as ``deepshadows.training.fit`` lays it out (without the weights)."""
    history = [
        {
            "epoch": e,
            "train_loss": 0.7 - 0.1 * e,
            "train_accuracy": 0.6 + 0.1 * e,
            "val_loss": [0.6, 0.4, 0.5, 0.45, 0.47][e - 1],
            "val_accuracy": [0.7, 0.8, 0.78, 0.79, 0.8][e - 1],
            "seconds": 1.5,
            "train_total_loss": 0.9 - 0.1 * e,
        }
        for e in range(1, epochs + 1)
    ]
    write_csv(run / "history.csv", history)
    train = {"epochs": planned, "batch_size": 64, "lr": 0.1, "seed": 0, "model": "deepshadows-table1"}
    write_json(
        run / "config.json",
        {
            "train": train,
            "precision": "fp32",
            "store": {"path": "data/des.h5", "fingerprint": "ab" * 32, "n_train": 90, "n_val": 30},
            "model": {
                "architecture": "deepshadows-table1",
                "model_kwargs": {"num_classes": 1, "drop_rate": 0.4},
            },
            "class_names": ["artifact", "lsbg"],
            "resumed_from_epoch": None,
            "provenance": provenance(),
        },
    )
    write_json(
        run / "model.json",
        {"architecture": "deepshadows-table1", "config": train, "metrics": {"epoch": 2, "val_loss": 0.4}},
    )
    if figure:
        from deepshadows.training.plots import plot_history

        plot_history(history, run / "training_history.png", best_epoch=2, title="deepshadows-table1")
    return run


def _write_explain(out: Path) -> None:
    groups = {}
    for name in ("true_positives", "false_positives"):
        write_png(out / f"{name}.png", (90, 50))
        groups[name] = {
            "png": f"/elsewhere/{name}.png",
            "shown": ["a", "b"],
            "probabilities": [0.9, 0.95],
            "size": 7,
        }
    write_json(out / "explain.json", {"groups": groups, "model": "runs/train", "split": "test", "seed": 0})


def _write_baselines(out: Path) -> None:
    models = {"svm": "SVM", "rf": "random forest"}
    for i, (key, name) in enumerate(models.items()):
        evaluate(out / key, seed=10 + i, name=name, model=key, split="test")
        write_json(
            out / key / "model.json",
            {"format": "deepshadows-baseline", "model": key, "name": name, "features": ["g_r", "mu_eff_g"]},
        )
    write_json(
        out / "config.json",
        {
            "models": list(models),
            "split": "test",
            "seed": 0,
            "n_boot": N_BOOT,
            "search": False,
            "folds": 5,
            "chosen": {"svm": {"C": 1.0}, "rf": {"n_estimators": 10}},
            "cv": {"svm": None, "rf": None},
            "store": {"path": "data/des.h5"},
            "provenance": provenance(),
        },
    )


def _write_transfer(out: Path) -> None:
    before = evaluate(out / "before", seed=20, name="before fine-tuning")
    after = evaluate(out / "after", seed=21, name="after fine-tuning")
    from deepshadows.evaluation import load_roc

    plot_roc(
        {"before": load_roc(out / "before"), "after": load_roc(out / "after")}, out / "roc_before_after.png"
    )
    write_csv(
        out / "finetune_history.csv",
        [{"epoch": e, "loss": 0.5 / e, "accuracy": 0.8 + 0.02 * e} for e in (1, 2, 3)],
    )
    write_csv(
        out / "learning_curve.csv",
        [
            {"n_finetune": n, "mode": "whole", "accuracy": 0.8, "accuracy_low": 0.75, "accuracy_high": 0.85}
            for n in (40, 80)
        ],
    )
    settings = {
        "source_model": "runs/train",
        "target_store": "data/hsc.h5",
        "n_finetune": 80,
        "mode": "whole",
    }
    write_json(
        out / "transfer.json",
        {"before": before, "after": after, "curve": [], "settings": settings, "provenance": provenance()},
    )


def _write_study(out: Path) -> None:
    """A training-set bootstrap study as ``deepshadows.studies.run_study`` lays it out."""
    evaluations, columns, runs = {}, {}, []
    for i, name in enumerate(("baseline", "boot-001", "boot-002")):
        run = write_training_run(out / "runs" / name, figure=False)
        evaluations[name] = evaluate(run / "evaluation_test", seed=30 + i, name=name)
        write_json(run / "result.json", {"name": name, "label": name})
        columns[name] = {"run": name, "resample": i, "epochs": 3}
        runs.append({"name": name, "label": name, "kind": "bootstrap", "params": {"resample": i}})
    write_json(out / "runs" / "boot-003" / "config.json", {})  # planned, never finished
    runs.append({"name": "boot-003", "label": "boot-003", "kind": "bootstrap", "params": {"resample": 3}})
    write_metrics_tables(evaluations, out, stem="results", title="Bootstrap", columns=columns)
    (out / "intervals.csv").write_text(
        "metric,value,test_low,test_high,train_low,train_median,train_high,train_std,"
        "test_half_width,train_half_width,combined_half_width\n"
        "accuracy,0.9,0.88,0.92,0.87,0.89,0.91,0.01,0.02,0.02,0.0282843\n"
    )
    (out / "intervals.md").write_text("| metric |\n|---|\n")
    write_png(out / "roc_curves.png")
    write_png(out / "intervals.png")
    config = {"kind": "bootstrap-train", "params": {"n_models": 3}, "train": {"epochs": 3}, "jobs": 2}
    write_json(
        out / "study.json",
        {
            "kind": "bootstrap-train",
            "store": "data/des.h5",
            "config": config,
            "runs": runs,
            "provenance": provenance(),
        },
    )


def _write_summary(out: Path) -> None:
    write_png(out / "contact_sheet.png", (80, 80))
    write_png(out / "calibration.png")
    calibration = [
        {
            "class": "lsbg",
            "statistic": "bg_median",
            "channel": "R",
            "sim_median": 36.0,
            "sim_p16": 35.0,
            "sim_p84": 39.0,
            "real_median": 36.5,
            "real_low": 34.5,
            "real_high": 38.5,
            "basis": "median ± 2 DN",
            "within": True,
        },
        {
            "class": "lsbg",
            "statistic": "clip_frac",
            "channel": "R",
            "sim_median": 0.018,
            "sim_p16": 0.009,
            "sim_p84": 0.033,
            "real_median": 0.043,
            "real_low": 0.030,
            "real_high": 0.056,
            "basis": "median ± 30 %",
            "within": False,
        },
    ]
    write_json(
        out / "summary.json",
        {
            "path": "data/des.h5",
            "survey": "des",
            "n": 160,
            "image_shape": [64, 64, 3],
            "counts": {
                "train": {"lsbg": 60, "type2": 60, "total": 120},
                "test": {"lsbg": 20, "type2": 20, "total": 40},
            },
            "subclasses": {"A": 50, "B": 30},
            "calibration": calibration,
            "calibration_reference": "des-dr1",
        },
    )
    (out / "calibration.md").write_text("| class |\n|---|\n")


def _write_predictions(path: Path) -> None:
    path.write_text(
        "id,probability,label\n"
        + "".join(f"obj-{i},{p},{int(p > 0.5)}\n" for i, p in enumerate((0.1, 0.7, 0.9, 0.3)))
    )


@pytest.fixture(scope="session")
def outputs(tmp_path_factory) -> Path:
    """A folder holding one output of every kind the report recognises; treat it as read-only."""
    root = tmp_path_factory.mktemp("outputs")
    train = write_training_run(root / "runs" / "train")
    evaluate(train / "evaluation_test", seed=1, name="deepshadows-table1", split="test", model="runs/train")
    _write_explain(train / "explain")
    rng = np.random.default_rng(2)
    y3 = np.repeat([0, 1, 2], 40)
    logits = rng.normal(0, 1, (y3.size, 3))
    logits[np.arange(y3.size), y3] += 2.0
    prob3 = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    evaluate_predictions(
        y3,
        prob3,
        root / "runs" / "three" / "evaluation_test",
        name="three",
        n_boot=N_BOOT,
        class_names=("type2", "lsbg", "type1"),
    )
    _write_baselines(root / "runs" / "baselines")
    compare_models([train, root / "runs" / "baselines"], root / "runs" / "comparison")
    _write_transfer(root / "runs" / "transfer")
    _write_study(root / "runs" / "study")
    _write_summary(root / "data" / "des_summary")
    _write_predictions(root / "predictions.csv")
    write_png(root / "misc" / "sketch.png")
    return root


@pytest.fixture
def make_png():
    """``make_png(path, size=(60, 40))`` writes a small two-colour PNG."""
    return write_png


@pytest.fixture
def make_training_run():
    """``make_training_run(folder, *, epochs=3, planned=5, figure=True)`` writes a training run."""
    return write_training_run


@pytest.fixture
def copy_of(tmp_path):
    """Copy one folder of ``outputs`` to a fresh place, to alter it."""

    def copy(src: Path) -> Path:
        return Path(shutil.copytree(src, tmp_path / src.name))

    return copy
