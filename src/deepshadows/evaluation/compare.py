"""``deepshadows compare``: several evaluated models side by side (Table 2, Fig. 4a and more).

Every model is read from what the shared evaluation wrote (``metrics.json`` and ``roc.npz``), so
the CNN, its ensembles, other architectures and the baselines compare on equal terms: one table
of what each model is and how it scores, with the calibration of its probabilities, and the ROC,
reliability and (for ensembles) rejection figures of all of them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows._io import atomic_path, make_output_dir, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation.compare_facts import describe_model, uncalibrated_ece
from deepshadows.evaluation.report_writers import _plain, load_roc, metrics_table
from deepshadows.metrics.scores import BINARY_METRICS
from deepshadows.viz.rejection import plot_rejection_curves
from deepshadows.viz.reliability import plot_reliability_bins
from deepshadows.viz.scores import plot_roc

__all__ = ["COMPARED_METRICS", "compare_models", "find_evaluations", "write_metrics_tables"]


def find_evaluations(path: str | os.PathLike[str], *, split: str = "test") -> list[Path]:
    """Return the evaluation folders (holding ``metrics.json``) that ``path`` stands for.

    ``path`` may be an evaluation folder itself, a training run (its ``evaluation_<split>``),
    or a folder of several (such as the output of ``deepshadows baselines``: one per model).

    Parameters
    ----------
    path : path-like
        Evaluation folder, training run or folder of evaluation folders.
    split : str, optional
        Split whose ``evaluation_<split>`` folder is looked for in a training run.

    Returns
    -------
    list of pathlib.Path
        The evaluation folders; those of a baselines folder come in the order its
        ``config.json`` lists the models, the others sorted by name.

    Raises
    ------
    deepshadows.errors.InputError
        If nothing evaluated is found there.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    if (root / "metrics.json").is_file():
        return [root]
    if (root / f"evaluation_{split}" / "metrics.json").is_file():
        return [root / f"evaluation_{split}"]
    found = sorted(p.parent for p in root.glob("*/metrics.json"))
    try:  # a baselines folder lists its models in the order they were run
        order = json.loads((root / "config.json").read_text(encoding="utf-8")).get("models") or []
    except (OSError, ValueError, AttributeError):
        order = []
    found.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))
    if not found:
        raise InputError(
            f"{root}: no metrics.json in it, in evaluation_{split}/ or in its subfolders; "
            "run `deepshadows evaluate` (or `baselines`) first"
        )
    return found


#: Metric columns of the comparison: the paper's, then the calibration of the probabilities.
COMPARED_METRICS: tuple[str, ...] = (*BINARY_METRICS, "ece", "ece_uncalibrated", "brier", "log_loss")


def _read_evaluations(
    paths: Sequence[str | os.PathLike[str]], split: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Path]]:
    """Model name -> ``metrics.json`` contents and -> evaluation folder, in the order given."""
    results: dict[str, dict[str, Any]] = {}
    folders: dict[str, Path] = {}
    for path in paths:
        for folder in find_evaluations(path, split=split):
            try:
                metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{folder / 'metrics.json'}: not readable ({exc})") from exc
            if "intervals" not in metrics:
                raise InputError(f"{folder}: not a binary evaluation (no LSBG-versus-artifact metrics)")
            name = str(metrics.get("name") or folder.name)
            if name in results:  # named by its run folder, else by its path
                run = folder.parent if folder.name == f"evaluation_{split}" else folder
                label = run.name if f"{name} ({run.name})" not in results else str(folder)
                name = f"{name} ({label})"
            results[name], folders[name] = metrics, folder
    return results, folders


def _table_rows(results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return the rows of the comparison tables: intervals plus the ECE of the uncalibrated probabilities."""
    rows = {}
    for name, metrics in results.items():
        raw = uncalibrated_ece(metrics)
        intervals = dict(metrics.get("intervals") or {})
        intervals["ece_uncalibrated"] = None if raw is None else {"value": raw, "low": None, "high": None}
        rows[name] = {"n": metrics.get("n"), "level": metrics.get("level", 0.95), "intervals": intervals}
    return rows


def _draw_figures(
    results: Mapping[str, Mapping[str, Any]], folders: Mapping[str, Path], out: Path
) -> tuple[dict[str, str], list[str]]:
    """Draw the ROC, reliability and rejection figures of all models; return them and notes."""
    files: dict[str, str] = {}
    curves = {name: load_roc(folders[name]) for name in results if (folders[name] / "roc.npz").is_file()}
    if curves:
        files["roc"] = str(plot_roc(curves, out / "roc.png", title="ROC curves, 95 % bootstrap bands"))
    bins, notes = {}, []
    for name, metrics in results.items():
        stored = (metrics.get("reliability") or {}).get("curves") or {}
        if stored:
            ece = (metrics.get("metrics") or {}).get("ece")
            bins[name] = dict(next(iter(stored.values()))) | {"ece": ece}
        else:
            notes.append(f"{name}: no reliability bins in its metrics.json (evaluate it again to draw it)")
    if bins:
        title = "Reliability of the probabilities scored"
        files["reliability"] = str(plot_reliability_bins(bins, out / "reliability.png", title=title))
    rejection = {n: m["uncertainty_rejection"] for n, m in results.items() if m.get("uncertainty_rejection")}
    if rejection:
        title = "Ensembles: rejecting the most uncertain objects"
        files["rejection"] = str(plot_rejection_curves(rejection, out / "rejection.png", title=title))
    return files, notes


def compare_models(
    paths: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, split: str = "test"
) -> dict[str, Any]:
    """Write the comparison of several evaluated models.

    Writes ``comparison.md`` and ``comparison.csv``: one row per model with what it is
    (architecture, members, trainable parameters, calibration method; see
    :func:`~deepshadows.evaluation.compare_facts.describe_model`), the number of test objects,
    accuracy, completeness (recall), purity (precision) and AUC with their intervals, and the
    calibration of its probabilities (ECE with its interval, the ECE of the uncalibrated
    probabilities where ``evaluate`` recorded it, Brier score, log loss); ``comparison.json``
    (the same, for the report); ``roc.png`` (every model's ROC curve with its band);
    ``reliability.png`` (every model's reliability diagram, from the bins its evaluation
    stored); and, when an ensemble is among them, ``rejection.png`` (the accuracy of each
    ensemble against the fraction of its most uncertain objects rejected). What a model lacks
    (a baseline's calibration, say) is shown as ``–``.

    Parameters
    ----------
    paths : sequence of path-like
        Evaluation folders, training runs or folders of evaluations (see
        :func:`find_evaluations`), in the order of the table.
    out_dir : path-like
        Output folder, created if needed.
    split : str, optional
        Split whose evaluation is read from training runs.

    Returns
    -------
    dict
        ``models`` (name -> the ``metrics.json`` contents), ``facts`` (name -> what
        :func:`~deepshadows.evaluation.compare_facts.describe_model` found), ``files``,
        ``notes`` (models left out of a figure, and why) and ``table`` (Markdown).

    Raises
    ------
    deepshadows.errors.InputError
        If a path holds no evaluation, or an evaluation is not binary.
    """
    if not paths:
        raise InputError("compare: give at least one evaluated model")
    results, folders = _read_evaluations(paths, split)
    facts = {name: describe_model(folders[name], results[name]) for name in results}
    cells = {name: _fact_cells(f) for name, f in facts.items()}
    rows = _table_rows(results)
    out = make_output_dir(out_dir)
    table = metrics_table(rows, metrics=COMPARED_METRICS, columns=cells)
    files = write_metrics_tables(
        rows, out, stem="comparison", title="Comparison", columns=facts, metrics=COMPARED_METRICS, table=table
    )
    figures, notes = _draw_figures(results, folders, out)
    files |= figures
    summary = {
        "models": [
            {"name": name, "evaluation": str(folders[name])} | facts[name] | rows[name] for name in results
        ],
        "notes": notes,
        "files": {label: Path(path).name for label, path in files.items()},
    }
    write_json_atomic(out / "comparison.json", _plain(summary))
    files["json"] = str(out / "comparison.json")
    return {"models": results, "facts": facts, "files": files, "notes": notes, "table": table}


def _fact_cells(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Return the descriptive cells of a model's row (parameters with thousands separators)."""
    cells = dict(facts)
    if cells.get("parameters") is not None:
        cells["parameters"] = f"{int(cells['parameters']):,}"
    return cells


def write_metrics_tables(
    results: Mapping[str, Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    stem: str,
    title: str,
    columns: Mapping[str, Mapping[str, Any]] | None = None,
    metrics: Sequence[str] = BINARY_METRICS,
    table: str | None = None,
) -> dict[str, str]:
    """Write ``<stem>.md`` and ``<stem>.csv``: one row per model, metrics with their intervals.

    Parameters
    ----------
    results : mapping of str to mapping
        Row name -> an evaluation (``metrics.json`` contents, with ``intervals`` and ``n``).
    out_dir : path-like
        Existing output folder.
    stem : str
        File name without extension.
    title : str
        Heading of the Markdown file.
    columns : mapping of str to mapping, optional
        Row name -> extra CSV columns (e.g. the seed or noise level of a study run), written
        after the name.
    metrics : sequence of str, optional
        Metric columns (keys of each row's ``intervals``; see :func:`metrics_table`), each
        written to the CSV as value, low and high; a missing one is left empty.
    table : str, optional
        The Markdown table of ``<stem>.md`` (default: :func:`metrics_table` of ``results``
        and ``metrics``).

    Returns
    -------
    dict
        ``table`` and ``csv``: the written paths.
    """
    out = Path(out_dir)
    extra = list(dict.fromkeys(k for row in (columns or {}).values() for k in row))
    sizes = ", ".join(f"{name}: {res.get('n')}" for name, res in results.items())
    level = next(iter(results.values())).get("level", 0.95)
    if table is None:
        table = metrics_table(results, metrics=metrics)
    text = (
        f"# {title}\n\n{table}\nCells: value [{100 * level:g} % bootstrap interval]. Test objects: {sizes}.\n"
    )
    with atomic_path(out / f"{stem}.md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", *extra, "n", *(f"{m}{s}" for m in metrics for s in ("", "_low", "_high"))])
    for name, res in results.items():
        row: list[Any] = [name, *((columns or {}).get(name, {}).get(k) for k in extra), res.get("n")]
        for metric in metrics:
            iv = res["intervals"].get(metric) or {}
            row += [iv.get("value"), iv.get("low"), iv.get("high")]
        writer.writerow(row)
    with atomic_path(out / f"{stem}.csv") as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return {"table": str(out / f"{stem}.md"), "csv": str(out / f"{stem}.csv")}
