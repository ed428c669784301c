"""Classification metrics of the paper: accuracy, completeness, purity, AUC and confusion matrices.

Conventions
-----------
Binary problems use label 1 for LSBGs (the positive class) and 0 for artifacts, as in the
data store; ``prob`` is the predicted probability of being an LSBG and an object is
classified as an LSBG when ``prob > threshold`` (strictly, as Keras' binary accuracy does).
*Completeness* is the recall of LSBGs, TP / (TP + FN); *purity* is their precision,
TP / (TP + FP).

Multi-class problems (the three-class variant of Appendix A) take an ``(N, K)`` array of
class probabilities, labels ``0 .. K-1`` and predict the class of highest probability. The
recommended layout puts the LSBGs at class index 0 (``("LSBG", "artifact 1", "artifact 2")``),
which is the default ``positive`` of :func:`reduce_to_binary`.

A metric that is undefined for the given data (completeness without any true LSBG, purity
without any predicted LSBG, AUC with a single class) is ``nan``, never a warning.

Calibration metrics (expected calibration error, Brier score, log loss) live in
:mod:`deepshadows.metrics.reliability` and the completeness-purity curve in
:mod:`deepshadows.metrics.curves`; both are importable from here as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_binary, check_labels, check_prob, check_threshold
from deepshadows.metrics.curves import completeness_purity_curve
from deepshadows.metrics.reliability import (
    CALIBRATION_METRICS,
    ECE_BINS,
    LOG_LOSS_EPS,
    calibration_metrics,
    reliability_bins,
)

__all__ = [
    "BINARY_METRICS",
    "CALIBRATION_METRICS",
    "ECE_BINS",
    "LOG_LOSS_EPS",
    "binary_metrics",
    "calibration_metrics",
    "completeness_purity_curve",
    "confusion",
    "multiclass_metrics",
    "reduce_to_binary",
    "reliability_bins",
]

#: The metrics of Tables 2 to 6, in the order of the paper.
BINARY_METRICS: tuple[str, ...] = ("accuracy", "completeness", "purity", "auc")

_NORMALIZE = (None, "true", "pred", "all")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


# --------------------------------------------------------------------------- metrics


@fill_doc
def binary_metrics(y_true: Any, prob: Any, *, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, completeness, purity and AUC of a binary LSBG / artifact classifier.

    Parameters
    ----------
    %(y_true)s
    %(prob)s
    threshold : float, optional
        Objects with ``prob > threshold`` are classified as LSBGs.

    Returns
    -------
    dict of str to float
        Keys :data:`BINARY_METRICS`. ``auc`` is the area under the ROC curve computed from
        ``prob`` with :func:`sklearn.metrics.roc_auc_score`; it is ``nan`` when ``y_true``
        holds one class only. Completeness (purity) is ``nan`` without any true (predicted)
        LSBG.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are empty, disagree in length, or hold invalid labels or probabilities.
    """
    from sklearn.metrics import roc_auc_score

    y, p = check_binary(y_true, prob)
    pred = p > check_threshold(threshold)
    pos = y == 1
    tp = int((pred & pos).sum())
    fp = int((pred & ~pos).sum())
    fn = int((~pred & pos).sum())
    auc = float(roc_auc_score(y, p)) if 0 < pos.sum() < y.size else float("nan")
    return {
        "accuracy": float((pred == pos).mean()),
        "completeness": _ratio(tp, tp + fn),
        "purity": _ratio(tp, tp + fp),
        "auc": auc,
    }


def confusion(y_true: Any, y_pred: Any, *, n_classes: int = 2, normalize: str | None = None) -> np.ndarray:
    """Confusion matrix with true classes in rows and predicted classes in columns.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (N,)
        True and predicted labels in ``0 .. n_classes-1``.
    n_classes : int, optional
        Number of classes, the side of the matrix.
    normalize : {None, "true", "pred", "all"}, optional
        ``None`` gives counts; ``"true"`` divides each row by the number of objects of that
        true class (rows sum to 1, the values in parentheses of Fig. 4b), ``"pred"`` divides
        each column by its total and ``"all"`` by N. A row or column without objects is 0.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        int64 counts, or float64 fractions when normalised.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are empty, disagree in length or hold labels outside the range, or
        ``normalize`` or ``n_classes`` is invalid.
    """
    if not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise InputError(f"n_classes: must be an integer of at least 2, got {n_classes!r}")
    if normalize not in _NORMALIZE:
        raise InputError(f"normalize: must be one of {_NORMALIZE}, got {normalize!r}")
    t = check_labels(y_true, "y_true", n_classes=n_classes)
    p = check_labels(y_pred, "y_pred", n_classes=n_classes)
    if p.size != t.size:
        raise InputError(f"y_pred: has {p.size} entries but y_true has {t.size}")
    k = int(n_classes)
    counts = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)
    if normalize is None:
        return counts
    if normalize == "true":
        den = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        den = counts.sum(axis=0, keepdims=True)
    else:
        den = np.array([[counts.sum()]])
    out = np.zeros((k, k), dtype=np.float64)
    np.divide(counts, den, out=out, where=np.broadcast_to(den > 0, out.shape))
    return out


def _class_names(class_names: Sequence[str], k: int) -> list[str]:
    if isinstance(class_names, str):
        raise InputError("class_names: expected a sequence of names, got a single string")
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise InputError(f"class_names: {len(names)} name(s) given for {k} classes")
    if len(set(names)) != k:
        raise InputError(f"class_names: names must be distinct, got {names}")
    return names


def multiclass_metrics(y_true: Any, prob: Any, *, class_names: Sequence[str]) -> dict[str, Any]:
    """Metrics of a K-class classifier that predicts the class of highest probability.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels ``0 .. K-1``.
    prob : array-like of shape (N, K)
        Class probabilities (e.g. a softmax output); each column in [0, 1].
    class_names : sequence of str, length K
        Name of each class, in column order (LSBGs first by convention).

    Returns
    -------
    dict
        ``accuracy`` (float), ``completeness`` and ``purity`` (dicts class name -> recall and
        precision of that class, ``nan`` when undefined), ``auc`` (dict class name ->
        one-vs-rest AUC of that class's probability, ``nan`` when the class is absent or is
        every object), ``confusion`` (K x K int64 counts) and ``confusion_normalized``
        (rows sum to 1), ``class_names`` (list), ``n`` (int) and ``support`` (dict class
        name -> number of true objects).

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are empty, the shapes disagree or the labels, probabilities or names
        are invalid.
    """
    from sklearn.metrics import roc_auc_score

    p = check_prob(prob, "prob", ndim=2)
    k = p.shape[1]
    if k < 2:
        raise InputError(f"prob: needs at least 2 columns (classes), got {k}")
    names = _class_names(class_names, k)
    y = check_labels(y_true, "y_true", n_classes=k)
    if y.size != p.shape[0]:
        raise InputError(f"prob: has {p.shape[0]} rows but y_true has {y.size} labels")
    pred = np.argmax(p, axis=1)
    counts = confusion(y, pred, n_classes=k)
    normalized = confusion(y, pred, n_classes=k, normalize="true")
    diag = np.diag(counts)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    auc = {}
    for j, name in enumerate(names):
        is_j = y == j
        auc[name] = float(roc_auc_score(is_j, p[:, j])) if 0 < is_j.sum() < y.size else float("nan")
    return {
        "accuracy": float(diag.sum() / y.size),
        "completeness": {name: _ratio(diag[j], support[j]) for j, name in enumerate(names)},
        "purity": {name: _ratio(diag[j], predicted[j]) for j, name in enumerate(names)},
        "auc": auc,
        "confusion": counts,
        "confusion_normalized": normalized,
        "class_names": names,
        "n": int(y.size),
        "support": {name: int(support[j]) for j, name in enumerate(names)},
    }


def reduce_to_binary(y_true_k: Any, prob_k: Any, *, positive: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Turn a K-class problem into "positive class against all others".

    Used for the LSBG-versus-all-artifacts view of the three-class model (Appendix A), where
    both artifact classes are merged into one negative class.

    Parameters
    ----------
    y_true_k : array-like of shape (N,)
        True labels ``0 .. K-1``.
    prob_k : array-like of shape (N, K)
        Class probabilities.
    positive : int, optional
        Index of the positive class (0, the LSBGs, by convention).

    Returns
    -------
    y_true_bin : ndarray of int64, shape (N,)
        1 where the true class is ``positive``, else 0.
    prob_bin : ndarray of float64, shape (N,)
        Probability of the positive class, ``prob_k[:, positive]``.

    Notes
    -----
    Thresholding ``prob_bin`` at 0.5 agrees with merging the rows and columns of the
    arg-max K x K confusion matrix except for objects whose positive-class probability is
    the largest one yet at most 0.5 (possible only for K > 2).

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid or ``positive`` is not a class index.
    """
    p = check_prob(prob_k, "prob_k", ndim=2)
    k = p.shape[1]
    if not isinstance(positive, int | np.integer) or not 0 <= positive < k:
        raise InputError(f"positive: must be a class index in 0..{k - 1}, got {positive!r}")
    y = check_labels(y_true_k, "y_true_k", n_classes=k)
    if y.size != p.shape[0]:
        raise InputError(f"prob_k: has {p.shape[0]} rows but y_true_k has {y.size} labels")
    return (y == positive).astype(np.int64), p[:, int(positive)].copy()
