"""Evaluate a classifier's test-set predictions and write the metrics, tables and figures.

:func:`evaluate_predictions` is the one entry point every classifier (the CNN, the SVM and
random forest baselines, the studies of section 6) uses, so that all models are scored the
same way. It writes into one folder:

``metrics.json``
    Point values, bootstrap intervals, confusion matrices, the settings and ``extra``.
``metrics.md``
    The same as Markdown tables (``metric | value | 95% interval``).
``metrics.csv``
    One row per metric: ``metric,value,low,high``.
``roc.png``, ``confusion.png``, ``probabilities.png``
    Fig. 4a, Fig. 4b and Fig. 5 style figures.
``reliability.png``, ``completeness_purity.png``
    The reliability diagram of the LSBG probabilities (with their expected calibration error,
    and other probabilities of the same objects for comparison) and purity against
    completeness over all thresholds, with the decision threshold (and a chosen operating
    point) marked.
``roc.npz``
    The ROC curve and band (``fpr``, ``tpr``, ``low``, ``high``, ``auc``, ``level``,
    ``name``), read back by :func:`load_roc` to overlay several models with
    :func:`~deepshadows.evaluation.figures.plot_roc`.

Class conventions
-----------------
A 1-D ``prob`` (or shape ``(N, 1)``) is a binary classifier's probability of label 1, which
is the LSBG class (``class_names=("artifact", "LSBG")``). An ``(N, K)`` ``prob`` holds class
probabilities for labels ``0 .. K-1``; by convention the LSBGs are class 0, e.g.
``class_names=("LSBG", "artifact 1", "artifact 2")`` for the three-class model of
Appendix A. The K-class results (accuracy, per-class completeness and purity, K x K
confusion matrix) are then complemented by the LSBG-versus-rest view, in which all other
classes are merged into one negative class and ``prob[:, lsbg]`` is thresholded like a
binary probability. The LSBG class is recognised by its name (``"LSBG"``, any case); without
one only the K-class results and one-versus-rest ROC curves are written.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import atomic_path, make_output_dir, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation.bootstrap import (
    Interval,
    _check_options,
    _check_seed,
    bootstrap_metrics,
    roc_band,
)
from deepshadows.evaluation.figures import (
    plot_completeness_purity,
    plot_confusion,
    plot_probability_histogram,
    plot_reliability,
    plot_roc,
)
from deepshadows.evaluation.metrics import (
    BINARY_METRICS,
    CALIBRATION_METRICS,
    ECE_BINS,
    binary_metrics,
    calibration_metrics,
    check_labels,
    check_prob,
    check_threshold,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
)

__all__ = ["evaluate_predictions", "load_roc", "metrics_table"]

#: Column titles of the metrics, as in the paper's tables.
_TITLES = {"accuracy": "accuracy", "completeness": "completeness", "purity": "purity", "auc": "AUC"}
#: Titles of the calibration metrics.
_CALIBRATION_TITLES = {"ece": f"ECE ({ECE_BINS} bins)", "brier": "Brier score", "log_loss": "log loss"}
#: Thresholds of the printed completeness-purity table.
_TABLE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


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
    """Read one table entry: an Interval, a value/low/high mapping or a plain number."""
    if entry is None:
        return None
    if isinstance(entry, Interval):
        return entry
    if isinstance(entry, Mapping):
        return Interval.from_dict(entry)
    try:
        return Interval(float(entry), float("nan"), float("nan"))
    except (TypeError, ValueError):
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
    lines = [
        "| true \\ predicted | " + " | ".join(_md_escape(n) for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for i, name in enumerate(names):
        cells = [f"{int(counts[i, j])} ({normalized[i, j]:.3f})" for j in range(len(names))]
        lines.append(f"| {_md_escape(name)} | " + " | ".join(cells) + " |")
    return lines


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
        (:class:`~deepshadows.evaluation.bootstrap.Interval`), ``level`` and ``name``; ready
        to pass as one entry of :func:`~deepshadows.evaluation.figures.plot_roc`.

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


# --------------------------------------------------------------------------- evaluation


def _require_both(y: np.ndarray, names: Sequence[str]) -> None:
    """Raise InputError unless the binary labels ``y`` hold both classes."""
    if int(y.sum()) in (0, y.size):
        raise InputError(
            f"y_true: both {names[0]!r} and {names[1]!r} objects are needed, found only {names[int(y[0])]!r}"
        )


def _binary_block(
    y: np.ndarray,
    p: np.ndarray,
    *,
    names: tuple[str, str],
    n_boot: int,
    seed: int,
    threshold: float,
    level: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Point metrics, intervals and confusion matrix of a binary problem, and its ROC band."""
    _require_both(y, names)
    point = binary_metrics(y, p, threshold=threshold) | calibration_metrics(y, p)
    intervals = bootstrap_metrics(
        y, p, n_boot=n_boot, seed=seed, threshold=threshold, level=level, calibration=True
    )
    curve = roc_band(y, p, n_boot=n_boot, seed=seed, level=level)
    pred = (p > threshold).astype(np.int64)
    block = {
        "metrics": point,
        "intervals": intervals,
        "confusion": {
            "class_names": list(names),
            "counts": confusion(y, pred),
            "normalized": confusion(y, pred, normalize="true"),
        },
        "completeness_purity": _threshold_table(y, p, threshold),
    }
    return block, curve


def _threshold_table(y: np.ndarray, p: np.ndarray, threshold: float) -> list[dict[str, Any]]:
    """Completeness and purity at a few round thresholds and at the decision threshold."""
    rows = []
    for t in sorted({*_TABLE_THRESHOLDS, float(threshold)}):
        chosen = p > t
        tp = int((chosen & (y == 1)).sum())
        rows.append(
            {
                "threshold": t,
                "selected": int(chosen.sum()),
                "completeness": tp / int(y.sum()),
                "purity": tp / int(chosen.sum()) if chosen.any() else float("nan"),
                "decision": t == float(threshold),
            }
        )
    return rows


def _lsbg_index(names: Sequence[str]) -> int | None:
    hits = [i for i, n in enumerate(names) if n.strip().lower() == "lsbg"]
    return hits[0] if len(hits) == 1 else None


def evaluate_predictions(
    y_true: Any,
    prob: Any,
    out_dir: str | os.PathLike[str],
    *,
    name: str = "model",
    n_boot: int = 1000,
    seed: int = 0,
    threshold: float = 0.5,
    class_names: Sequence[str] = ("artifact", "LSBG"),
    extra: Mapping[str, Any] | None = None,
    level: float = 0.95,
    compare_probabilities: Mapping[str, Any] | None = None,
    probability_label: str | None = None,
    operating_point: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score test-set predictions and write metrics, tables, figures and the ROC curve.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels: 1 = LSBG, 0 = artifact for a binary classifier; ``0 .. K-1`` (indices
        into ``class_names``) for a K-class one.
    prob : array-like of shape (N,), (N, 1) or (N, K)
        Probability of being an LSBG (binary) or class probabilities (K classes).
    out_dir : path-like
        Output folder, created if needed; files in it are replaced atomically.
    name : str, optional
        Model name used in titles, legends and ``roc.npz``.
    n_boot : int, optional
        Bootstrap resamples of the test set for the intervals and the ROC band.
    seed : int, optional
        Seed of the resampling.
    threshold : float, optional
        An object is classified as an LSBG when its LSBG probability exceeds ``threshold``
        (binary and LSBG-versus-rest views; K-class predictions use the arg-max).
    class_names : sequence of str, optional
        Name of each label; for K classes it must hold K names (LSBGs first by convention,
        see the module notes).
    extra : mapping, optional
        Anything to record with the metrics (training settings, data set, ...); stored
        under ``"extra"`` after conversion to JSON types.
    level : float, optional
        Confidence level of the intervals and the ROC band.
    compare_probabilities : mapping of str to array-like, optional
        Other probabilities of the same objects, e.g. ``{"uncalibrated": q}``, drawn beside
        ``prob`` in the reliability diagram and scored by their calibration metrics (shape as
        ``prob``).
    probability_label : str, optional
        Legend of ``prob`` in the reliability diagram (default ``name``).
    operating_point : mapping, optional
        An operating point chosen on the validation split (as
        :meth:`deepshadows.calibration.OperatingPoint.to_dict` gives it), recorded and marked
        on the completeness-purity figure; ``threshold`` should be its threshold.

    Returns
    -------
    dict
        Exactly what is written to ``metrics.json`` (``nan`` stored as ``None``): ``name``,
        ``n``, ``n_classes``, ``class_names``, ``support`` (objects per class),
        ``threshold``, ``n_boot``, ``seed``, ``level``, ``files``, ``extra``; for binary
        problems and the LSBG-versus-rest view ``metrics`` (point values, with the calibration
        metrics ``ece``, ``brier`` and ``log_loss``), ``intervals`` (``value``/``low``/``high``
        per metric), ``confusion`` (``class_names``, ``counts``, ``normalized``),
        ``completeness_purity`` (completeness and purity at thresholds 0.1 to 0.9 and at
        ``threshold``), ``compared_calibration`` (calibration metrics of each of
        ``compare_probabilities``) and ``operating_point``; for K classes ``multiclass`` (see
        :func:`~deepshadows.evaluation.metrics.multiclass_metrics`) and ``binary`` (how the
        LSBG-versus-rest view was formed, with the merged arg-max confusion counts of
        Appendix A).

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are empty or inconsistent, a label or probability is invalid, a class
        needed for the ROC curve is missing, or an option is invalid.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name: must be a non-empty string, got {name!r}")
    if extra is not None and not isinstance(extra, Mapping):
        raise InputError(f"extra: expected a mapping, got {type(extra).__name__}")
    if compare_probabilities is not None and not isinstance(compare_probabilities, Mapping):
        kind = type(compare_probabilities).__name__
        raise InputError(f"compare_probabilities: expected a mapping, got {kind}")
    if isinstance(class_names, str):
        raise InputError("class_names: expected a sequence of names, got a single string")
    names = [str(c) for c in class_names]
    threshold = check_threshold(threshold)
    n_boot, level = _check_options(n_boot, level)
    seed = _check_seed(seed)
    arr = np.asarray(prob)
    multiclass = arr.ndim == 2 and arr.shape[1] >= 2
    if not multiclass:
        p = check_prob(arr, "prob", ndim=1)
        k = 2
    else:
        p = check_prob(arr, "prob", ndim=2)
        k = p.shape[1]
    if len(names) != k or len(set(names)) != k:
        raise InputError(f"class_names: need {k} distinct names for {k} classes, got {names}")
    y = check_labels(y_true, "y_true", n_classes=k)
    if y.size != p.shape[0]:
        raise InputError(f"prob: has {p.shape[0]} rows but y_true has {y.size} labels")
    pos = _lsbg_index(names) if multiclass else 1
    if pos is not None:
        rest = " + ".join(c for j, c in enumerate(names) if j != pos)
        _require_both((y == pos).astype(np.int64), (rest, names[pos]))
    # The LSBG-versus-rest view scored for calibration, and the probabilities compared with it.
    view = (y, p) if not multiclass else (reduce_to_binary(y, p, positive=pos) if pos is not None else None)
    others = {}
    if view is not None:
        others = {
            str(label): _positive_column(other, pos, multiclass, y.size, label)
            for label, other in (compare_probabilities or {}).items()
        }
    out = make_output_dir(out_dir, parameter="out_dir")

    result: dict[str, Any] = {
        "name": name,
        "n": int(y.size),
        "n_classes": k,
        "class_names": names,
        "support": {c: int((y == j).sum()) for j, c in enumerate(names)},
        "threshold": threshold,
        "n_boot": int(n_boot),
        "seed": int(seed),
        "level": float(level),
    }
    curves: dict[str, dict[str, Any]] = {}
    primary: dict[str, Any] | None = None
    md_multi: list[str] = []
    if not multiclass:
        block, primary = _binary_block(
            y, p, names=(names[0], names[1]), n_boot=n_boot, seed=seed, threshold=threshold, level=level
        )
        result.update(block)
        curves[name] = primary
        hist = (y, p, names, f"P({names[1]})", threshold)
    else:
        mc = multiclass_metrics(y, p, class_names=names)
        result["multiclass"] = mc
        if pos is not None:
            yb, pb = reduce_to_binary(y, p, positive=pos)
            block, primary = _binary_block(
                yb, pb, names=(rest, names[pos]), n_boot=n_boot, seed=seed, threshold=threshold, level=level
            )
            result.update(block)
            argmax_pos = (np.argmax(p, axis=1) == pos).astype(np.int64)
            result["binary"] = {
                "positive": names[pos],
                "negative": rest,
                "probability": f"prob[:, {pos}]",
                "decision": f"prob[:, {pos}] > threshold",
                "argmax_confusion_counts": confusion(yb, argmax_pos),
            }
        if primary is not None and k == 2:
            curves[name] = primary
        else:
            for j, c in enumerate(names):
                is_j = (y == j).astype(np.int64)
                if j == pos:
                    curves[f"{c} vs rest"] = primary
                elif 0 < is_j.sum() < y.size:
                    curves[f"{c} vs rest"] = roc_band(is_j, p[:, j], n_boot=n_boot, seed=seed, level=level)
        if primary is None and curves:
            primary = next(iter(curves.values()))
        if pos is not None:
            hist = (y, p[:, pos], names, f"P({names[pos]})", threshold)
        else:
            hist = (y, p[:, 0], names, f"P({names[0]})", None)
        md_multi = _multiclass_md(mc)

    files = ["metrics.json", "metrics.md", "metrics.csv", "confusion.png", "probabilities.png"]
    if curves:
        title = name if len(curves) > 1 or multiclass else None
        plot_roc(curves, out / "roc.png", title=title)
        _write_roc_npz(out / "roc.npz", primary, name)
        files += ["roc.png", "roc.npz"]
    if multiclass:
        plot_confusion(
            mc["confusion_normalized"],
            out / "confusion.png",
            class_names=names,
            counts=mc["confusion"],
            title=f"{name}: {k} classes",
        )
    if "confusion" in result:
        cm = result["confusion"]
        target = "confusion_binary.png" if multiclass else "confusion.png"
        plot_confusion(
            cm["normalized"],
            out / target,
            class_names=cm["class_names"],
            counts=cm["counts"],
            title=name if not multiclass else f"{name}: {cm['class_names'][1]} vs rest",
        )
        if multiclass:
            files.append(target)
    hy, hp, hnames, hlabel, hthr = hist
    plot_probability_histogram(
        hy, hp, out / "probabilities.png", class_names=hnames, xlabel=hlabel, threshold=hthr
    )
    if view is not None:
        yb_all, pb_all = view
        if others:
            result["compared_calibration"] = {
                label: calibration_metrics(yb_all, other) for label, other in others.items()
            }
        plot_reliability(
            yb_all,
            {probability_label or name: pb_all, **others},
            out / "reliability.png",
            title=name,
        )
        plot_completeness_purity(
            yb_all,
            pb_all,
            out / "completeness_purity.png",
            threshold=threshold,
            operating_point=operating_point,
            title=name,
        )
        files += ["reliability.png", "completeness_purity.png"]
        if operating_point is not None:
            result["operating_point"] = dict(operating_point)
    result["files"] = sorted(files)
    result["extra"] = dict(extra or {})

    result = _plain(result)
    write_json_atomic(out / "metrics.json", result)
    _write_text(out / "metrics.md", _report_md(result, md_multi))
    _write_text(out / "metrics.csv", _report_csv(result))
    return result


def _positive_column(other: Any, pos: int | None, multiclass: bool, n: int, label: Any) -> np.ndarray:
    """Return the LSBG probability of other probabilities of the same objects."""
    if multiclass:
        arr = check_prob(other, f"compare_probabilities[{label!r}]", ndim=2)
        if arr.shape[1] <= int(pos or 0):
            raise InputError(f"compare_probabilities[{label!r}]: has {arr.shape[1]} columns")
        arr = arr[:, int(pos or 0)]
    else:
        arr = check_prob(other, f"compare_probabilities[{label!r}]", ndim=1)
    if arr.shape[0] != n:
        raise InputError(
            f"compare_probabilities[{label!r}]: has {arr.shape[0]} rows but y_true has {n} labels"
        )
    return arr


# --------------------------------------------------------------------------- text outputs


def _multiclass_md(mc: Mapping[str, Any]) -> list[str]:
    names = mc["class_names"]
    lines = [
        f"## {len(names)} classes (arg-max prediction)",
        "",
        f"accuracy: {_num(mc['accuracy'])}",
        "",
        "| class | n | completeness | purity | AUC (vs rest) |",
        "|---|---|---|---|---|",
    ]
    for c in names:
        lines.append(
            f"| {_md_escape(c)} | {mc['support'][c]} | {_num(mc['completeness'][c])} | "
            f"{_num(mc['purity'][c])} | {_num(mc['auc'][c])} |"
        )
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
        lines += [f"| metric | value | {pct} interval |", "|---|---|---|"]
        titles = {**_TITLES, **_CALIBRATION_TITLES}
        for m in (*BINARY_METRICS, *CALIBRATION_METRICS):
            if m not in result["intervals"]:
                continue
            iv = Interval.from_dict(result["intervals"][m])
            lines.append(f"| {titles[m]} | {_num(iv.value)} | [{_num(iv.low)}, {_num(iv.high)}] |")
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
    lines += ["| threshold | selected | completeness | purity |", "|---|---|---|---|"]
    for row in result.get("completeness_purity") or []:
        mark = " *" if row["decision"] else ""
        lines.append(
            f"| {row['threshold']:.6g}{mark} | {row['selected']} | {_num(row['completeness'])} | "
            f"{_num(row['purity'])} |"
        )
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
        for key in ("completeness", "purity", "auc"):
            for c in mc["class_names"]:
                writer.writerow([f"{key}[{c}]", cell(mc[key][c]), "", ""])
    return buf.getvalue()


def metrics_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of several models, one row each (Tables 2 and 3 combined).

    Parameters
    ----------
    results : mapping of str to mapping
        Model name -> the dict returned by :func:`evaluate_predictions` (or read from its
        ``metrics.json``), the dict of intervals returned by
        :func:`~deepshadows.evaluation.bootstrap.bootstrap_metrics`, or a dict of point values
        such as :func:`~deepshadows.evaluation.metrics.binary_metrics` returns.

    Returns
    -------
    str
        Columns model, accuracy, completeness, purity, AUC; each cell reads
        ``"0.920 [0.912, 0.927]"`` (or just the value when there is no interval, ``–`` when
        the metric is missing). Ends with a newline.

    Raises
    ------
    deepshadows.errors.InputError
        If ``results`` is empty or an entry is not a mapping.
    """
    if not results:
        raise InputError("results: no model given")
    lines = [
        "| model | " + " | ".join(_TITLES[m] for m in BINARY_METRICS) + " |",
        "|---" * (len(BINARY_METRICS) + 1) + "|",
    ]
    for model, res in results.items():
        if not isinstance(res, Mapping):
            raise InputError(f"results[{model!r}]: expected a mapping, got {type(res).__name__}")
        source = res.get("intervals") or res.get("metrics") or res
        cells = [_cell(_interval_of(source.get(m))) for m in BINARY_METRICS]
        lines.append(f"| {_md_escape(model)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
