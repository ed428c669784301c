"""The tables and figures of a finished study: results per run, ROC curves, interval comparison.

The summary writes ``results.md`` / ``results.csv`` (one row per run: Tables 5 and 6 of
the paper) and ``roc_curves.png`` (Fig. 8); for label noise ``tpr_ratio.png`` (Fig. 9); for the
training-set bootstrap ``intervals.md`` / ``intervals.csv`` / ``intervals.png``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import atomic_path
from deepshadows.evaluation.compare import write_metrics_tables
from deepshadows.evaluation.report import load_roc
from deepshadows.metrics.scores import BINARY_METRICS
from deepshadows.studies.figures import plot_interval_comparison, plot_study_roc, plot_tpr_ratio
from deepshadows.studies.jobs import StudyJob
from deepshadows.tables import markdown_table

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

#: Name of the run on the store's own split with clean labels.
BASELINE = "baseline"


def _number(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _value(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _interval_rows(results: Sequence[dict[str, Any]], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for metric in BINARY_METRICS:
        values = np.array([_value(r["intervals"][metric]["value"]) for r in results], dtype=np.float64)
        values = values[np.isfinite(values)]
        base = {k: _value(v) for k, v in baseline["intervals"][metric].items()}
        if values.size >= 2:
            train_low, train_median, train_high = np.percentile(values, [2.5, 50, 97.5])
            train_std = float(values.std(ddof=1))
        else:  # the metric is undefined for (almost) every model, e.g. purity with no positives
            train_low = train_median = train_high = train_std = math.nan
        test_half = (base["high"] - base["low"]) / 2
        train_half = (train_high - train_low) / 2
        rows.append(
            {
                "metric": metric,
                "value": base["value"],
                "test_low": base["low"],
                "test_high": base["high"],
                "train_low": float(train_low),
                "train_median": float(train_median),
                "train_high": float(train_high),
                "train_std": train_std,
                "test_half_width": float(test_half),
                "train_half_width": float(train_half),
                "combined_half_width": float(math.hypot(test_half, train_half)),
            }
        )
    return rows


def _write_intervals(out: Path, rows: list[dict[str, Any]], n_models: int) -> dict[str, str]:
    keys = list(rows[0])
    with atomic_path(out / "intervals.csv") as tmp:
        lines = [",".join(keys)] + [
            ",".join(f"{row[k]:.6g}" if k != "metric" else row[k] for k in keys) for row in rows
        ]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    header = ["metric", "baseline", "test-set 95 % interval", "training 95 % interval", "combined ±"]
    table = markdown_table(
        header,
        (
            [
                row["metric"],
                f"{row['value']:.3f}",
                f"[{row['test_low']:.3f}, {row['test_high']:.3f}]",
                f"[{row['train_low']:.3f}, {row['train_high']:.3f}]",
                f"{row['combined_half_width']:.3f}",
            ]
            for row in rows
        ),
    )
    text = (
        "# Test-set and training-set uncertainty\n\n"
        + "\n".join(table)
        + "\n\nTest-set interval: 2.5-97.5 percentiles of the metric over bootstrap resamples of the "
        "test set, for the model trained on the whole training set (baseline). Training interval: "
        f"2.5-97.5 percentiles of the metric over {n_models} models, each trained on a bootstrap resample "
        "of the training set (with its own initial weights and batch order), all scored on the same test "
        "set. Combined: both half-widths added in quadrature (independent errors).\n"
    )
    with atomic_path(out / "intervals.md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return {"intervals_table": str(out / "intervals.md"), "intervals_csv": str(out / "intervals.csv")}


def _summarise(
    kind: str, out: Path, jobs: Sequence[StudyJob], results: dict[str, dict[str, Any]]
) -> dict[str, str]:
    ordered = [results[job.name] for job in jobs]
    tables = {r["label"]: {"n": r["n_test"], "intervals": r["intervals"], "level": 0.95} for r in ordered}
    columns = {
        r["label"]: {"run": r["name"], **r["selection"], "epochs": r["epochs_completed"]} for r in ordered
    }
    titles = {
        "splits": "Metrics for the baseline split and new random splits (Table 5)",
        "label-noise": "Metrics with label noise in the training set (Table 6)",
        "bootstrap-train": "Metrics of models trained on bootstrap resamples of the training set",
    }
    files = write_metrics_tables(tables, out, stem="results", title=titles[kind], columns=columns)
    curves = {r["label"]: load_roc(Path(r["evaluation"]) / "roc.npz") for r in ordered}
    roc_titles = {
        "splits": "ROC curves: baseline split and new splits",
        "label-noise": "ROC curves: label noise in the training set",
        "bootstrap-train": "ROC curves: training-set bootstrap",
    }
    files["roc"] = str(
        plot_study_roc(
            curves, BASELINE, out / "roc_curves.png", title=roc_titles[kind], graded=kind == "label-noise"
        )
    )
    if kind == "label-noise":
        files["tpr_ratio"] = str(
            plot_tpr_ratio(
                curves, BASELINE, out / "tpr_ratio.png", title="True-positive rate relative to no noise"
            )
        )
    if kind == "bootstrap-train":
        resamples = [r for r in ordered if r["name"] != BASELINE]
        rows = _interval_rows(resamples, results[BASELINE])
        files |= _write_intervals(out, rows, len(resamples))
        files["intervals"] = str(
            plot_interval_comparison(
                rows, out / "intervals.png", title="Test-set versus training-set uncertainty"
            )
        )
    return files
