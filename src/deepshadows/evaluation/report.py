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
    :func:`~deepshadows.viz.scores.plot_roc`.

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

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation.report_calibration import (
    _calibration_section,
    _positive_column,
    _threshold_table,
)
from deepshadows.evaluation.report_writers import (
    _multiclass_md,
    _plain,
    _report_csv,
    _report_md,
    _write_roc_npz,
    _write_text,
    load_roc,
    metrics_table,
)
from deepshadows.metrics.bootstrap import (
    _check_options,
    _check_seed,
    bootstrap_metrics,
    roc_band,
)
from deepshadows.metrics.checks import check_labels, check_prob, check_threshold
from deepshadows.metrics.reliability import calibration_metrics
from deepshadows.metrics.scores import (
    binary_metrics,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
)
from deepshadows.viz.scores import plot_confusion, plot_probability_histogram, plot_roc

__all__ = ["evaluate_predictions", "load_roc", "metrics_table"]


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
        ``compare_probabilities``), ``reliability`` (``n_bins`` and, per set of probabilities,
        the scored ones first, the ``count``, ``mean_prob`` and ``fraction_positive`` of each
        bin of :func:`~deepshadows.metrics.reliability.reliability_bins`) and
        ``operating_point``; for K classes ``multiclass`` (see
        :func:`~deepshadows.metrics.scores.multiclass_metrics`) and ``binary`` (how the
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
        files += _calibration_section(
            result,
            out,
            view,
            others,
            name=name,
            probability_label=probability_label,
            threshold=threshold,
            operating_point=operating_point,
        )
    result["files"] = sorted(files)
    result["extra"] = dict(extra or {})

    result = _plain(result)
    write_json_atomic(out / "metrics.json", result)
    _write_text(out / "metrics.md", _report_md(result, md_multi))
    _write_text(out / "metrics.csv", _report_csv(result))
    return result
