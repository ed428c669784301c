"""Sections of evaluations, model comparisons and the SVM / random-forest baselines.

They read what :func:`deepshadows.evaluation.evaluate_predictions`,
:func:`deepshadows.evaluation.compare.compare_models` and
:func:`deepshadows.baselines.run.run_baselines` wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows.report._reading import (
    FolderReader,
    bounds_cell,
    fmt,
    interval_cell,
    mapping_table,
    records_table,
    to_float,
)
from deepshadows.report.content import Section, Table

__all__ = [
    "METRIC_TITLES",
    "build_baselines",
    "build_comparison",
    "build_evaluation",
    "confusion_table",
    "is_baselines",
    "metrics_rows",
]

#: Binary metrics in the order of the paper's tables, with their column titles.
METRIC_TITLES = {"accuracy": "accuracy", "completeness": "completeness", "purity": "purity", "auc": "AUC"}

_EVALUATION_FIGURES = (
    ("roc.png", "ROC curve with its bootstrap band (Fig. 4a)"),
    ("confusion.png", "Confusion matrix: counts and fraction of the true class (Fig. 4b)"),
    ("confusion_binary.png", "LSBG versus the merged artifact classes"),
    ("probabilities.png", "Predicted probabilities per true class (Fig. 5)"),
    ("reliability.png", "Reliability diagram: fraction of LSBGs against the predicted probability"),
    ("completeness_purity.png", "Purity against completeness over all decision thresholds"),
)
#: Calibration metrics of the LSBG probability, with their titles.
_CALIBRATION_TITLES = {"ece": "ECE (15 bins)", "brier": "Brier score", "log_loss": "log loss"}


def _pct(level: Any) -> str:
    x = to_float(level)
    return f"{100 * x:g} %" if x is not None else "95 %"


def metrics_rows(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Return ``metric -> "value [low, high]"`` from a ``metrics.json`` mapping (intervals first).

    Parameters
    ----------
    metrics : mapping
        Contents of ``metrics.json``: its ``intervals`` (metric -> ``value``, ``low``, ``high``)
        are used where present, else the point values of ``metrics``.

    Returns
    -------
    dict of str to str
        One formatted cell per metric of :data:`METRIC_TITLES`, in that order; ``–`` for a
        missing metric.
    """
    intervals = metrics.get("intervals") or {}
    points = metrics.get("metrics") or {}
    out = {}
    for m in METRIC_TITLES:
        iv = intervals.get(m)
        if isinstance(iv, Mapping):
            out[m] = interval_cell(iv.get("value"), iv.get("low"), iv.get("high"))
        else:
            out[m] = interval_cell(points.get(m))
    return out


def confusion_table(
    counts: Sequence[Sequence[Any]],
    normalized: Sequence[Sequence[Any]] | None,
    names: Sequence[str],
    caption: str,
) -> Table:
    """Return a confusion matrix (rows: true, columns: predicted) with row fractions in parentheses.

    Parameters
    ----------
    counts : sequence of sequence
        Matrix of counts, ``counts[i][j]`` objects of true class ``i`` predicted as ``j``.
    normalized : sequence of sequence or None
        The same matrix as fractions of each true class, shown in parentheses; None shows
        counts only.
    names : sequence of str
        Class names, in index order.
    caption : str
        Text shown above the table.

    Returns
    -------
    Table
        One row per true class, one column per predicted class.
    """
    rows = []
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            frac = to_float(normalized[i][j]) if normalized is not None else None
            cells.append(f"{counts[i][j]} ({frac:.3f})" if frac is not None else str(counts[i][j]))
        rows.append([str(name), *cells])
    return Table(columns=["true \\ predicted", *map(str, names)], rows=rows, caption=caption)


def _metrics_table_from_json(result: Mapping[str, Any]) -> Table:
    pct = _pct(result.get("level"))
    intervals = result.get("intervals") or {}
    rows = []
    for m, title in {**METRIC_TITLES, **_CALIBRATION_TITLES}.items():
        if m in _CALIBRATION_TITLES and m not in intervals:
            continue
        iv = intervals.get(m) or {}
        bounds = bounds_cell(iv.get("low"), iv.get("high"))
        rows.append([title, interval_cell(iv.get("value")), bounds])
    caption = "Metrics"
    if "binary" in result and isinstance(result.get("confusion"), Mapping):
        neg, pos = result["confusion"]["class_names"]
        caption = f"{pos} vs rest ({neg})"
    return Table(columns=["metric", "value", f"{pct} interval"], rows=rows, caption=caption)


def _metrics_table_from_csv(rows: Sequence[Mapping[str, str]]) -> Table:
    body = []
    for row in rows:
        name = row.get("metric", "")
        bounds = bounds_cell(row.get("low"), row.get("high"))
        body.append([METRIC_TITLES.get(name, name), interval_cell(row.get("value")), bounds])
    return Table(columns=["metric", "value", "interval"], rows=body, caption="Metrics (from metrics.csv)")


def _multiclass_tables(mc: Mapping[str, Any]) -> list[Table]:
    names = [str(c) for c in mc["class_names"]]
    per_class = Table(
        columns=["class", "n", "completeness", "purity", "AUC (vs rest)"],
        rows=[
            [
                c,
                fmt((mc.get("support") or {}).get(c)),
                interval_cell(mc["completeness"].get(c)),
                interval_cell(mc["purity"].get(c)),
                interval_cell(mc["auc"].get(c)),
            ]
            for c in names
        ],
        caption=f"{len(names)} classes, arg-max prediction: accuracy {interval_cell(mc.get('accuracy'))}",
    )
    confusion = confusion_table(
        mc["confusion"], mc.get("confusion_normalized"), names, caption=f"{len(names)}-class confusion matrix"
    )
    return [per_class, confusion]


def _evaluation_facts(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    support = result.get("support") or {}
    extra = result.get("extra") or {}
    split_counts = ", ".join(f"{n} {c}" for c, n in support.items())
    facts = [
        ("name", fmt(result.get("name"))),
        ("split", fmt(extra.get("split"))),
        ("objects", fmt(result.get("n")) + (f" ({split_counts})" if split_counts else "")),
        ("classes", fmt(result.get("class_names"))),
        ("decision threshold", fmt(result.get("threshold"))),
        (
            "intervals",
            f"{_pct(result.get('level'))}, {fmt(result.get('n_boot'))} bootstrap resamples "
            f"(seed {fmt(result.get('seed'))})",
        ),
    ]
    facts += [(str(k), fmt(v)) for k, v in extra.items() if k != "split"]
    return [(k, v) for k, v in facts if v != "–"]


def build_evaluation(reader: FolderReader, section: Section) -> None:
    """Fill an evaluation section: settings, metrics with intervals, confusion matrices, figures.

    Three-class evaluations add the per-class table, the 3 x 3 confusion matrix and how the
    LSBG-versus-rest view was formed. A baseline's ``model.json`` adds its hyperparameters.

    Parameters
    ----------
    reader : FolderReader
        Reads the evaluation folder (``metrics.json``, else ``metrics.csv``, and the figures);
        problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    result = reader.json("metrics.json")
    if result is None:
        rows = reader.csv("metrics.csv", required=False)
        if rows:
            section.tables.append(_metrics_table_from_csv(rows))
    else:
        section.facts += _evaluation_facts(result)
        if "intervals" in result:
            section.tables.append(_metrics_table_from_json(result))
        cm = result.get("confusion")
        if isinstance(cm, Mapping):
            section.tables.append(
                confusion_table(
                    cm["counts"],
                    cm.get("normalized"),
                    cm["class_names"],
                    "Confusion matrix (rows: true class)",
                )
            )
        if isinstance(result.get("multiclass"), Mapping):
            section.tables += _multiclass_tables(result["multiclass"])
        binary = result.get("binary")
        if isinstance(binary, Mapping):
            section.notes.append(
                f"LSBG-versus-rest view: positive {fmt(binary.get('positive'))}, negative "
                f"{fmt(binary.get('negative'))}, decision {fmt(binary.get('decision'))}."
            )
    model = reader.json("model.json", required=False)
    if model is not None and model.get("format") == "deepshadows-baseline":
        features = model.get("features") or []
        section.facts.append(("features", f"{len(features)}: {fmt(features)}"))
        section.recorded = model.get("provenance")
    section.figures += reader.figures(_EVALUATION_FIGURES)


#: Descriptive columns of a comparison row, then the calibration metrics after the paper's four.
_COMPARISON_FACTS = ("architecture", "members", "parameters", "calibration")
_COMPARISON_CALIBRATION = {
    "ece": "ECE (15 bins)",
    "ece_uncalibrated": "ECE uncalibrated",
    "brier": "Brier score",
    "log_loss": "log loss",
}
_COMPARISON_FIGURES = (
    ("roc.png", "ROC curves of all models (Fig. 4a)"),
    ("reliability.png", "Reliability of every model's probabilities, with its ECE"),
    ("rejection.png", "Ensembles: accuracy kept against the fraction of uncertain objects rejected"),
)


def _comparison_table(summary: Mapping[str, Any]) -> Table:
    """One row per model of ``comparison.json``: what it is, its metrics and its calibration."""
    titles = {**METRIC_TITLES, **_COMPARISON_CALIBRATION}
    body = []
    for model in summary.get("models") or []:
        intervals = model.get("intervals") or {}
        facts = {k: model.get(k) for k in _COMPARISON_FACTS}
        if isinstance(facts["parameters"], int):
            facts["parameters"] = f"{facts['parameters']:,}"
        cells = [fmt(model.get("name")), *(fmt(v) for v in facts.values()), fmt(model.get("n"))]
        for metric in titles:
            iv = intervals.get(metric)
            iv = iv if isinstance(iv, Mapping) else {}
            cells.append(interval_cell(iv.get("value"), iv.get("low"), iv.get("high")))
        body.append(cells)
    return Table(
        columns=["model", *_COMPARISON_FACTS, "n", *titles.values()],
        rows=body,
        caption="Models compared on the same test objects: value [interval]; – where a model has none",
    )


def build_comparison(reader: FolderReader, section: Section) -> None:
    """Fill a model-comparison section: one row per model and the joint figures.

    Each row says what the model is (architecture, members, parameters, calibration method) and
    gives its metrics with their intervals (Table 2) and the calibration of its probabilities;
    the figures are the ROC curves (Fig. 4a), the reliability diagrams and, for ensembles,
    accuracy against the fraction of uncertain objects rejected.

    Parameters
    ----------
    reader : FolderReader
        Reads the output folder of ``deepshadows compare`` (``comparison.json``, or
        ``comparison.csv`` from earlier versions, and the figures); problems become warnings of
        the section.
    section : Section
        The section to fill, in place.
    """
    summary = reader.json("comparison.json", required=False)
    if summary is not None:
        section.tables.append(_comparison_table(summary))
        section.notes += [str(note) for note in summary.get("notes") or []]
    else:
        rows = reader.csv("comparison.csv")
        if rows:
            section.tables.append(records_table(rows, "Models compared on the same test objects"))
    section.figures += reader.figures(_COMPARISON_FIGURES)


def is_baselines(folder: Path) -> bool:
    """Whether ``folder`` holds the output of ``deepshadows baselines`` (``config.json`` + models).

    Parameters
    ----------
    folder : pathlib.Path
        Any folder.

    Returns
    -------
    bool
        True when it has a ``config.json`` but no ``history.csv`` (which would make it a training
        run) and a sub-folder with a ``model.skops``, or ``svm/`` or ``rf/`` with a
        ``metrics.json``.
    """
    if not (folder / "config.json").is_file() or (folder / "history.csv").is_file():
        return False
    return any(folder.glob("*/model.skops")) or any(
        (folder / m / "metrics.json").is_file() for m in ("svm", "rf")
    )


def build_baselines(reader: FolderReader, section: Section) -> None:
    """Fill a baselines section: options, chosen hyperparameters and one metrics row per model.

    Parameters
    ----------
    reader : FolderReader
        Reads the output folder of ``deepshadows baselines`` (``config.json`` and each model's
        ``metrics.json``); problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    config = reader.json("config.json")
    models: list[str] = []
    if config is not None:
        models = [str(m) for m in config.get("models") or []]
        store = config.get("store") or {}
        section.facts += [
            ("models", fmt(models)),
            ("split", fmt(config.get("split"))),
            ("store", fmt(store.get("path"))),
            ("grid search", fmt(config.get("search"))),
            ("cross-validation folds", fmt(config.get("folds"))),
            ("bootstrap resamples", fmt(config.get("n_boot"))),
            ("seed", fmt(config.get("seed"))),
        ]
        chosen = config.get("chosen") or {}
        if chosen:
            section.tables.append(mapping_table(chosen, "Hyperparameters used", key="model"))
        cv = {k: v for k, v in (config.get("cv") or {}).items() if v is not None}
        if cv:
            section.tables.append(mapping_table(cv, "Cross-validation scores", key="model"))
        section.recorded = config.get("provenance")
        section.configuration = config
    folders = [reader.folder / m for m in models] or sorted(
        p.parent for p in reader.folder.glob("*/metrics.json")
    )
    body = []
    for sub in folders:
        # The model's own section reports a broken file; this summary only skips it.
        result = FolderReader(sub, []).json("metrics.json")
        if result is not None:
            cells = metrics_rows(result)
            body.append([fmt(result.get("name", sub.name)), fmt(result.get("n")), *cells.values()])
    if body:
        section.tables.append(
            Table(
                columns=["model", "n", *(f"{t} [interval]" for t in METRIC_TITLES.values())],
                rows=body,
                caption="Test metrics of each baseline",
            )
        )
