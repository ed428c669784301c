"""``deepshadows compare``: one table and one ROC figure for several evaluated models (Table 2, Fig. 4a).

Every model is read from what the shared evaluation wrote (``metrics.json`` and ``roc.npz``), so
the CNN, the baselines and any later model compare on equal terms.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows._io import atomic_path, make_output_dir
from deepshadows.errors import InputError
from deepshadows.evaluation.figures import plot_roc
from deepshadows.evaluation.metrics import BINARY_METRICS
from deepshadows.evaluation.report_writers import load_roc, metrics_table

__all__ = ["compare_models", "find_evaluations", "write_metrics_tables"]


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


def compare_models(
    paths: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, split: str = "test"
) -> dict[str, Any]:
    """Write the comparison of several evaluated models.

    Writes ``comparison.md`` and ``comparison.csv`` (one row per model: accuracy, completeness,
    purity and AUC with their intervals, the number of test objects) and ``roc.png`` (every
    model's ROC curve with its band).

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
        ``models`` (name -> the ``metrics.json`` contents), ``files`` and ``table`` (Markdown).

    Raises
    ------
    deepshadows.errors.InputError
        If a path holds no evaluation, an evaluation is not binary, or two models share a name
        and data set.
    """
    if not paths:
        raise InputError("compare: give at least one evaluated model")
    results: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, Any]] = {}
    for path in paths:
        for folder in find_evaluations(path, split=split):
            try:
                metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{folder / 'metrics.json'}: not readable ({exc})") from exc
            if "intervals" not in metrics:
                raise InputError(f"{folder}: not a binary evaluation (no LSBG-versus-artifact metrics)")
            name = str(metrics.get("name") or folder.name)
            if name in results:
                name = f"{name} ({folder})"
            results[name] = metrics
            if (folder / "roc.npz").is_file():
                curves[name] = load_roc(folder / "roc.npz")
    out = make_output_dir(out_dir)
    files = write_metrics_tables(results, out, stem="comparison", title="Comparison")
    table = metrics_table(results)
    if curves:
        files["roc"] = str(plot_roc(curves, out / "roc.png", title="ROC curves, 95 % bootstrap bands"))
    return {"models": results, "files": files, "table": table}


def write_metrics_tables(
    results: Mapping[str, Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    stem: str,
    title: str,
    columns: Mapping[str, Mapping[str, Any]] | None = None,
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

    Returns
    -------
    dict
        ``table`` and ``csv``: the written paths.
    """
    out = Path(out_dir)
    extra = list(dict.fromkeys(k for row in (columns or {}).values() for k in row))
    sizes = ", ".join(f"{name}: {res.get('n')}" for name, res in results.items())
    level = next(iter(results.values())).get("level", 0.95)
    text = (
        f"# {title}\n\n{metrics_table(results)}\nCells: value [{100 * level:g} % bootstrap interval]. "
        f"Test objects: {sizes}.\n"
    )
    with atomic_path(out / f"{stem}.md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["model", *extra, "n", *(f"{m}{s}" for m in BINARY_METRICS for s in ("", "_low", "_high"))]
    )
    for name, res in results.items():
        row: list[Any] = [name, *((columns or {}).get(name, {}).get(k) for k in extra), res.get("n")]
        for metric in BINARY_METRICS:
            iv = res["intervals"].get(metric) or {}
            row += [iv.get("value"), iv.get("low"), iv.get("high")]
        writer.writerow(row)
    with atomic_path(out / f"{stem}.csv") as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return {"table": str(out / f"{stem}.md"), "csv": str(out / f"{stem}.csv")}
