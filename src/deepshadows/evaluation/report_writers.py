"""The files of an evaluation: its JSON, Markdown and CSV reports, and its ROC curve file.

:func:`load_roc` reads a ``roc.npz`` back and :func:`metrics_table` lays the metrics of several
models side by side; both are importable from :mod:`deepshadows.evaluation.report` as well.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import atomic_path, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.metrics.bootstrap import Interval
from deepshadows.metrics.rejection import rejection_table
from deepshadows.metrics.reliability import CALIBRATION_METRICS, ECE_BINS
from deepshadows.metrics.scores import BINARY_METRICS
from deepshadows.tables import markdown_table
from deepshadows.viz.rejection import plot_rejection

__all__ = ["add_rejection", "load_roc", "metrics_table", "write_rejection_csv"]

#: Column titles of the metrics, as in the paper's tables.
_TITLES = {"accuracy": "accuracy", "completeness": "completeness", "purity": "purity", "auc": "AUC"}
#: The per-class metrics of a multi-class evaluation, in their table's order.
_PER_CLASS = ("completeness", "purity", "auc")
#: Titles of the calibration metrics.
_CALIBRATION_TITLES = {
    "ece": f"ECE ({ECE_BINS} bins)",
    "ece_uncalibrated": "ECE uncalibrated",
    "brier": "Brier score",
    "log_loss": "log loss",
}


# --------------------------------------------------------------------------- helpers


def _plain(obj: Any) -> Any:
    """Convert to JSON-ready Python objects; ``nan``/``inf`` become ``None``."""
    if isinstance(obj, Interval):
        return _plain(obj.to_dict())
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)


def _num(x: Any, digits: int = 3) -> str:
    """Format a number for a table; ``None``/``nan`` print as ``nan``."""
    if x is None:
        return "nan"
    x = float(x)
    return "nan" if math.isnan(x) else f"{x:.{digits}f}"


def _interval_of(entry: Any) -> Interval | None:
    """Read one table entry (see :meth:`Interval.coerce`); None where it is no interval."""
    try:
        return Interval.coerce(entry)
    except (TypeError, ValueError, IndexError):
        return None


def _cell(iv: Interval | None) -> str:
    if iv is None:
        return "–"
    if math.isnan(iv.low) and math.isnan(iv.high):
        return _num(iv.value)
    return f"{_num(iv.value)} [{_num(iv.low)}, {_num(iv.high)}]"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _confusion_md(counts: np.ndarray, normalized: np.ndarray, names: Sequence[str]) -> list[str]:
    header = ["true \\ predicted", *(_md_escape(n) for n in names)]
    rows = [
        [_md_escape(name), *(f"{int(counts[i, j])} ({normalized[i, j]:.3f})" for j in range(len(names)))]
        for i, name in enumerate(names)
    ]
    return markdown_table(header, rows)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_roc_npz(path: Path, curve: Mapping[str, Any], name: str) -> None:
    auc = curve["auc"]
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            fpr=np.asarray(curve["fpr"], dtype=np.float64),
            tpr=np.asarray(curve["tpr"], dtype=np.float64),
            low=np.asarray(curve["low"], dtype=np.float64),
            high=np.asarray(curve["high"], dtype=np.float64),
            auc=np.array([auc.value, auc.low, auc.high], dtype=np.float64),
            level=np.float64(curve["level"]),
            name=np.array(str(name)),
        )


def load_roc(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``roc.npz`` written by :func:`evaluate_predictions`.

    Parameters
    ----------
    path : path-like
        The ``roc.npz`` file (or the evaluation folder holding it).

    Returns
    -------
    dict
        ``fpr``, ``tpr``, ``low``, ``high`` (arrays), ``auc``
        (:class:`~deepshadows.metrics.bootstrap.Interval`), ``level`` and ``name``; ready
        to pass as one entry of :func:`~deepshadows.viz.scores.plot_roc`.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or is not a ROC file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "roc.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: np.asarray(data[k]) for k in ("fpr", "tpr", "low", "high", "auc", "level", "name")}
    except FileNotFoundError:
        raise InputError(f"{path}: ROC file not found") from None
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path}: not a ROC file written by evaluate_predictions ({exc})") from None
    auc = out["auc"]
    out["auc"] = Interval(float(auc[0]), float(auc[1]), float(auc[2]))
    out["level"] = float(out["level"])
    out["name"] = str(out["name"])
    return out


# --------------------------------------------------------------------------- text outputs


def _multiclass_md(mc: Mapping[str, Any]) -> list[str]:
    names = mc["class_names"]
    lines = [
        f"## {len(names)} classes (arg-max prediction)",
        "",
        f"accuracy: {_num(mc['accuracy'])}",
        "",
    ]
    rows = [[_md_escape(c), str(mc["support"][c]), *(_num(mc[k][c]) for k in _PER_CLASS)] for c in names]
    lines += markdown_table(["class", "n", "completeness", "purity", "AUC (vs rest)"], rows)
    lines += ["", *_confusion_md(np.asarray(mc["confusion"]), np.asarray(mc["confusion_normalized"]), names)]
    return lines


def _report_md(result: Mapping[str, Any], md_multi: list[str]) -> str:
    support = ", ".join(f"{n} {_md_escape(c)}" for c, n in result["support"].items())
    pct = f"{100 * result['level']:g}%"
    lines = [
        f"# Evaluation: {_md_escape(result['name'])}",
        "",
        f"{result['n']} objects evaluated ({support}); decision threshold {result['threshold']:g}; "
        f"{pct} intervals from {result['n_boot']} bootstrap resamples (seed {result['seed']}).",
        "",
    ]
    if "intervals" in result:
        neg, pos = result["confusion"]["class_names"]
        if "binary" in result:
            lines += [f"## {_md_escape(pos)} vs rest ({_md_escape(neg)})", ""]
        titles = {**_TITLES, **_CALIBRATION_TITLES}
        shown = [m for m in (*BINARY_METRICS, *CALIBRATION_METRICS) if m in result["intervals"]]
        intervals = {m: Interval.from_dict(result["intervals"][m]) for m in shown}
        rows = [
            [titles[m], _num(iv.value), f"[{_num(iv.low)}, {_num(iv.high)}]"] for m, iv in intervals.items()
        ]
        lines += markdown_table(["metric", "value", f"{pct} interval"], rows)
        for label, values in (result.get("compared_calibration") or {}).items():
            cells = ", ".join(f"{_CALIBRATION_TITLES[m]} {_num(values[m])}" for m in CALIBRATION_METRICS)
            lines.append("")
            lines.append(f"{_md_escape(label)} probabilities: {cells}.")
        lines += [
            "",
            "Confusion matrix (rows: true, columns: predicted; fraction of the true class in parentheses):",
            "",
            *_confusion_md(
                np.asarray(result["confusion"]["counts"]),
                np.asarray(result["confusion"]["normalized"], dtype=np.float64),
                result["confusion"]["class_names"],
            ),
            "",
            *_completeness_purity_md(result),
        ]
    if md_multi:
        lines += [*md_multi, ""]
    if result.get("extra"):
        lines += ["## Extra", ""]
        lines += [f"- {_md_escape(k)}: {_md_escape(v)}" for k, v in result["extra"].items()]
        lines.append("")
    return "\n".join(lines)


def _completeness_purity_md(result: Mapping[str, Any]) -> list[str]:
    lines = ["Completeness and purity by decision threshold (`*`: the one used):", ""]
    rows = [
        [
            f"{r['threshold']:.6g}" + (" *" if r["decision"] else ""),
            str(r["selected"]),
            _num(r["completeness"]),
        ]
        + [_num(r["purity"])]
        for r in result.get("completeness_purity") or []
    ]
    lines += markdown_table(["threshold", "selected", "completeness", "purity"], rows)
    lines.append("")
    point = result.get("operating_point")
    if point:
        lines += [
            f"Operating point: {point['target']} >= {point['target_value']:g} on the validation split gave "
            f"threshold {point['threshold']:.4g} (validation completeness {_num(point['completeness'])}, "
            f"purity {_num(point['purity'])}); the table above shows what it gives here.",
            "",
        ]
    return lines


def _report_csv(result: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["metric", "value", "low", "high"])

    def cell(x: Any) -> str:
        return "" if x is None else repr(float(x))

    names = (*BINARY_METRICS, *CALIBRATION_METRICS) if "intervals" in result else ()
    for m in names:
        if m not in result["intervals"]:
            continue
        iv = result["intervals"][m]
        writer.writerow([m, cell(iv["value"]), cell(iv["low"]), cell(iv["high"])])
    mc = result.get("multiclass")
    if mc:
        writer.writerow(["multiclass_accuracy", cell(mc["accuracy"]), "", ""])
        for key in _PER_CLASS:
            for c in mc["class_names"]:
                writer.writerow([f"{key}[{c}]", cell(mc[key][c]), "", ""])
    return buf.getvalue()


def metrics_table(
    results: Mapping[str, Mapping[str, Any]],
    *,
    metrics: Sequence[str] = BINARY_METRICS,
    columns: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Markdown table of several models, one row each (Tables 2 and 3 combined).

    Parameters
    ----------
    results : mapping of str to mapping
        Model name -> the dict returned by :func:`evaluate_predictions` (or read from its
        ``metrics.json``), the dict of intervals returned by
        :func:`~deepshadows.metrics.bootstrap.bootstrap_metrics`, or a dict of point values
        such as :func:`~deepshadows.metrics.scores.binary_metrics` returns.
    metrics : sequence of str, optional
        The metric columns, in order: any of :data:`~deepshadows.metrics.scores.BINARY_METRICS`,
        :data:`~deepshadows.metrics.reliability.CALIBRATION_METRICS` and ``ece_uncalibrated``.
    columns : mapping of str to mapping, optional
        Model name -> descriptive cells (e.g. its architecture), shown after the name in the
        order of their keys; a missing or None cell shows ``–``.

    Returns
    -------
    str
        Columns model, the descriptive columns, then the metrics (by default accuracy,
        completeness, purity, AUC); each metric cell reads ``"0.920 [0.912, 0.927]"`` (or just
        the value when there is no interval, ``–`` when the metric is missing). Ends with a
        newline.

    Raises
    ------
    deepshadows.errors.InputError
        If ``results`` is empty or an entry is not a mapping.
    """
    if not results:
        raise InputError("results: no model given")
    titles = {**_TITLES, **_CALIBRATION_TITLES}
    extra = list(dict.fromkeys(k for row in (columns or {}).values() for k in row))
    head = ["model", *extra, *(titles.get(m, m) for m in metrics)]
    rows = []
    for model, res in results.items():
        if not isinstance(res, Mapping):
            raise InputError(f"results[{model!r}]: expected a mapping, got {type(res).__name__}")
        source = res.get("intervals") or res.get("metrics") or res
        described = (columns or {}).get(model, {})
        cells = ["–" if described.get(k) is None else _md_escape(described[k]) for k in extra]
        cells += [_cell(_interval_of(source.get(m))) for m in metrics]
        rows.append([_md_escape(model), *cells])
    return "\n".join(markdown_table([_md_escape(h) for h in head], rows)) + "\n"


def write_rejection_csv(table: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write the table of accuracy against the fraction of uncertain objects rejected, as CSV.

    Parameters
    ----------
    table : sequence of mapping
        Rows of :func:`~deepshadows.metrics.rejection.rejection_table`.
    path : path-like
        The CSV file, written atomically: ``fraction,rejected,kept,accuracy,max_uncertainty``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    columns = ("fraction", "rejected", "kept", "accuracy", "max_uncertainty")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in table:
        writer.writerow([format(row[c], ".6g") if isinstance(row[c], float) else row[c] for c in columns])
    _write_text(Path(path), buffer.getvalue())
    return Path(path)


def add_rejection(
    result: Mapping[str, Any],
    out: Path,
    y_true: Any,
    prob: Any,
    uncertainty: Any,
    *,
    threshold: float,
    members: int,
) -> dict[str, Any]:
    """Write an ensemble's accuracy against rejecting the most uncertain objects beside its metrics.

    ``rejection.csv`` and ``rejection.png`` are written into ``out`` and the table is added to
    its ``metrics.json`` (as ``uncertainty_rejection``, with the two files in ``files``).

    Parameters
    ----------
    result : mapping
        What :func:`deepshadows.evaluation.evaluate_predictions` returned for ``out``.
    out : pathlib.Path
        The evaluation folder (holding ``metrics.json``).
    y_true, prob, uncertainty : array-like
        As :func:`rejection_table`.
    threshold : float
        Decision threshold of a binary model.
    members : int
        Members of the ensemble, for the figure's title.

    Returns
    -------
    dict
        ``result`` with ``uncertainty_rejection`` (the table) and the updated ``files``.
    """
    out = Path(out)
    table = rejection_table(y_true, prob, uncertainty, threshold=threshold)
    write_rejection_csv(table, out / "rejection.csv")
    plot_rejection(table, out / "rejection.png", title=f"ensemble of {members}: rejecting the most uncertain")
    files = sorted({*result.get("files", []), "rejection.csv", "rejection.png"})
    metrics_json = out / "metrics.json"
    stored = json.loads(metrics_json.read_text(encoding="utf-8"))
    write_json_atomic(metrics_json, stored | {"uncertainty_rejection": table, "files": files})
    return {**result, "uncertainty_rejection": table, "files": files}
