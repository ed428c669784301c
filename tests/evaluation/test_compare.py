"""``compare`` on real, tiny evaluated models: Table 1, an ensemble, a compact ResNet, the baselines."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests.baselines.test_baselines import _feature_store
from tests.ensemble.conftest import SPLIT
from tests.training.test_fit import write_store

from deepshadows.baselines import run_baselines
from deepshadows.cli.main import cli
from deepshadows.evaluation.compare import compare_models
from deepshadows.models import create_model
from deepshadows.report import write_report

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Options of the tiny trainings: one epoch on the 32 training cutouts of the store.
TRAIN = ["--epochs", "1", "--batch-size", "8", "--seed", "7", "--precision", "fp32", "--quiet"]
PNG = b"\x89PNG"


def _parameters(architecture: str) -> int:
    model = create_model(architecture, image_size=16)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> dict:
    """A Table-1 run, a two-member ensemble and a compact ResNet, evaluated, and the baselines."""
    monkeypatch_module.setenv("DEEPSHADOWS_COMPILE", "0")  # no compilation to wait for
    root = tmp_path_factory.mktemp("compare")
    store = write_store(root / "synthetic.h5", split=np.tile(SPLIT, 8))
    runs = {
        "table1": [],
        "ensemble": ["--members", "2"],
        "resnet": ["--model", "compact-resnet"],
    }
    for name, options in runs.items():
        _invoke(["train", str(store), "--out", str(root / name), *TRAIN, *options])
        _invoke(["evaluate", str(root / name), "--data", str(store), "--n-boot", "20"])
    features = _feature_store(root / "features.h5", 40, 16, {})
    run_baselines(features, root / "baselines", n_boot=20, n_jobs=1)
    return {name: root / name for name in (*runs, "baselines")} | {"root": root}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def compared(models: dict) -> dict:
    paths = [models[k] for k in ("table1", "ensemble", "resnet", "baselines")]
    return compare_models(paths, models["root"] / "comparison")


def test_one_row_per_model_says_what_it_is(compared: dict, models: dict) -> None:
    out = models["root"] / "comparison"
    with open(out / "comparison.csv", newline="") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    assert list(rows) == [
        "deepshadows-table1",
        "deepshadows-table1 (ensemble)",
        "compact-resnet",
        "SVM",
        "random forest",
    ]
    table1, ensemble, resnet, svm, forest = rows.values()
    assert [r["architecture"] for r in rows.values()] == [
        "deepshadows-table1",
        "deepshadows-table1",
        "compact-resnet",
        "svm",
        "random-forest",
    ]
    assert [r["members"] for r in rows.values()] == ["1", "2", "1", "1", "1"]
    table1_size = _parameters("deepshadows-table1")  # of the 16-pixel cutouts of the store
    assert table1["parameters"] == str(table1_size) and ensemble["parameters"] == str(2 * table1_size)
    assert resnet["parameters"] == str(_parameters("compact-resnet"))
    assert svm["parameters"] == forest["parameters"] == ""
    assert table1["calibration"].startswith("temperature T=")
    assert svm["calibration"] == forest["calibration"] == ""
    for row in rows.values():
        for metric in ("accuracy", "completeness", "purity", "auc", "ece", "brier", "log_loss"):
            # Empty when undefined: the purity of a one-epoch network that calls nothing an LSBG.
            value, low, high = (row[f"{metric}{end}"] for end in ("", "_low", "_high"))
            assert value or metric == "purity"
            assert float(low or "-inf") <= float(value or "nan") <= float(high or "inf") or not value
    # The ECE of the uncalibrated probabilities is recorded for the calibrated CNNs only.
    assert all(r["ece_uncalibrated"] for r in (table1, ensemble, resnet))
    assert svm["ece_uncalibrated"] == forest["ece_uncalibrated"] == ""


def test_markdown_table_shows_missing_values_as_dashes(compared: dict, models: dict) -> None:
    table = (models["root"] / "comparison" / "comparison.md").read_text()
    assert table.startswith("# Comparison\n\n" + compared["table"])
    head = table.splitlines()[2]
    for title in ("architecture", "members", "parameters", "calibration", "AUC", "ECE (15 bins)"):
        assert f"| {title} |" in head
    assert "| ECE uncalibrated | Brier score | log loss |" in head
    svm = next(line for line in table.splitlines() if line.startswith("| SVM |"))
    assert svm.startswith("| SVM | svm | 1 | – | – | ")
    size = f"{_parameters('compact-resnet'):,}"
    assert f"| compact-resnet | compact-resnet | 1 | {size} | temperature T=" in table


def test_figures_of_all_models_and_of_the_ensemble(compared: dict, models: dict) -> None:
    out = models["root"] / "comparison"
    assert compared["notes"] == []
    for name in ("roc.png", "reliability.png", "rejection.png"):
        assert (out / name).read_bytes()[:4] == PNG
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["files"]["rejection"] == "rejection.png"
    assert [m["members"] for m in summary["models"]] == [1, 2, 1, 1, 1]
    ensemble = json.loads((models["ensemble"] / "evaluation_test" / "metrics.json").read_text())
    curves = ensemble["reliability"]["curves"]
    assert list(curves) == ["calibrated", "uncalibrated"] and len(curves["calibrated"]["count"]) == 15
    assert sum(curves["calibrated"]["count"]) == ensemble["n"]


def test_without_an_ensemble_there_is_no_rejection_figure(models: dict, tmp_path: Path) -> None:
    result = compare_models([models["resnet"], models["baselines"]], tmp_path / "cmp")
    assert "rejection" not in result["files"] and not (tmp_path / "cmp" / "rejection.png").exists()
    assert set(result["facts"]["SVM"]) == {"architecture", "members", "parameters", "calibration"}


def test_cli_prints_the_table(models: dict, tmp_path: Path) -> None:
    output = _invoke(["compare", str(models["table1"]), str(models["baselines"]), "--out", str(tmp_path)])
    size = f"{_parameters('deepshadows-table1'):,}"
    assert f"| deepshadows-table1 | deepshadows-table1 | 1 | {size} |" in output
    assert "reliability:" in output


def test_report_shows_the_comparison_section(compared: dict, models: dict, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_report([models["root"] / "comparison"], page)
    html = page.read_text()
    assert "Model comparison" in html
    for text in ("compact-resnet", "random-forest", "ECE uncalibrated", f"{_parameters('compact-resnet'):,}"):
        assert text in html
    for caption in ("ROC curves of all models", "Reliability of every model", "Ensembles: accuracy kept"):
        assert caption in html
