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

Calibration
-----------
How far the LSBG probabilities can be read as frequencies is measured by
:func:`calibration_metrics`: the expected calibration error over :data:`ECE_BINS` equal-width
bins of ``prob`` (:func:`reliability_bins`), the Brier score and the log loss. All three are
computed on the probability of the positive class, so a three-class model is scored on its
LSBG-versus-rest probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepshadows.errors import InputError

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
#: Calibration metrics of the LSBG probability: expected calibration error, Brier score, log loss.
CALIBRATION_METRICS: tuple[str, ...] = ("ece", "brier", "log_loss")
#: Number of equal-width probability bins of the expected calibration error.
ECE_BINS = 15
#: Probabilities are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` in the log loss.
LOG_LOSS_EPS = 1e-15

_NORMALIZE = (None, "true", "pred", "all")


# --------------------------------------------------------------------------- validation


def check_labels(y: Any, name: str, *, n_classes: int = 2) -> np.ndarray:
    """Return ``y`` as a non-empty 1-D integer array with values in ``0 .. n_classes-1``.

    Parameters
    ----------
    y : array-like
        Labels; booleans and integral floats are accepted.
    name : str
        Argument name used in error messages.
    n_classes : int, optional
        Number of classes.

    Returns
    -------
    ndarray of int64

    Raises
    ------
    deepshadows.errors.InputError
        If ``y`` is empty, not 1-D, not numeric or holds a value outside the allowed range.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array of labels, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name}: is empty")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name}: labels must be integers 0..{n_classes - 1}, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise InputError(f"{name}: labels must be integers 0..{n_classes - 1}")
    bad = (arr < 0) | (arr >= n_classes)
    if bad.any():
        values = np.unique(arr[bad])[:5].tolist()
        raise InputError(f"{name}: labels must lie in 0..{n_classes - 1}, found {values}")
    return arr.astype(np.int64)


def check_prob(prob: Any, name: str, *, n: int | None = None, ndim: int = 1) -> np.ndarray:
    """Return ``prob`` as a float64 array of finite values in [0, 1].

    Parameters
    ----------
    prob : array-like
        Probabilities; for ``ndim=1`` an ``(N, 1)`` array (a Keras output) is flattened.
    name : str
        Argument name used in error messages.
    n : int, optional
        Required length (number of rows).
    ndim : {1, 2}, optional
        Required number of dimensions.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    deepshadows.errors.InputError
        If ``prob`` is empty, has the wrong shape or length, or holds a value that is not a
        finite number in [0, 1].
    """
    arr = np.asarray(prob)
    if ndim == 1 and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != ndim:
        want = "(N,)" if ndim == 1 else "(N, K)"
        raise InputError(f"{name}: expected an array of shape {want}, got {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name}: is empty")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: probabilities must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name}: has {arr.shape[0]} rows but the labels have {n}")
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: holds {int((~np.isfinite(arr)).sum())} non-finite value(s)")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise InputError(
            f"{name}: probabilities must lie in [0, 1], found [{arr.min():.4g}, {arr.max():.4g}]"
        )
    return arr


def check_binary(y_true: Any, prob: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a binary problem: labels in {0, 1} and one probability per label."""
    y = check_labels(y_true, "y_true", n_classes=2)
    p = check_prob(prob, "prob", n=y.size, ndim=1)
    return y, p


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` as a float, raising InputError if it is not finite."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold: expected a number, got {threshold!r}") from None
    if not np.isfinite(value):
        raise InputError(f"threshold: must be finite, got {threshold!r}")
    return value


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


# --------------------------------------------------------------------------- metrics


def binary_metrics(y_true: Any, prob: Any, *, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, completeness, purity and AUC of a binary LSBG / artifact classifier.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact.
    prob : array-like of shape (N,) or (N, 1)
        Predicted probability of being an LSBG.
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


def _check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise InputError(f"n_bins: must be a positive integer, got {n_bins!r}")
    return int(n_bins)


def bin_index(prob: np.ndarray, n_bins: int) -> np.ndarray:
    """Return the equal-width bin of each probability: ``[k/n, (k+1)/n)``, 1 in the last bin."""
    return np.minimum((prob * n_bins).astype(np.int64), n_bins - 1)


def pointwise_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return ``-log`` of the probability given to each object's true class (clipped)."""
    q = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return -np.where(y == 1, np.log(q), np.log1p(-q))


def reliability_bins(y_true: Any, prob: Any, *, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Group the objects into equal-width bins of ``prob``: the data of a reliability diagram.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact.
    prob : array-like of shape (N,) or (N, 1)
        Predicted probability of being an LSBG.
    n_bins : int, optional
        Number of bins ``[k/n_bins, (k+1)/n_bins)`` over [0, 1] (a probability of 1 falls in
        the last one).

    Returns
    -------
    dict of str to ndarray
        ``edges`` (``n_bins + 1``), and per bin ``count`` (int64), ``mean_prob`` (mean
        predicted probability) and ``fraction_positive`` (fraction of LSBGs); the last two are
        ``nan`` in empty bins.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid or ``n_bins`` is not a positive integer.
    """
    y, p = check_binary(y_true, prob)
    n_bins = _check_bins(n_bins)
    index = bin_index(p, n_bins)
    count = np.bincount(index, minlength=n_bins)
    sum_p = np.bincount(index, weights=p, minlength=n_bins)
    sum_y = np.bincount(index, weights=y.astype(np.float64), minlength=n_bins)
    mean_prob = np.full(n_bins, np.nan)
    fraction = np.full(n_bins, np.nan)
    np.divide(sum_p, count, out=mean_prob, where=count > 0)
    np.divide(sum_y, count, out=fraction, where=count > 0)
    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1),
        "count": count.astype(np.int64),
        "mean_prob": mean_prob,
        "fraction_positive": fraction,
    }


def calibration_metrics(y_true: Any, prob: Any, *, n_bins: int = ECE_BINS) -> dict[str, float]:
    """Return the expected calibration error, Brier score and log loss of LSBG probabilities.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact.
    prob : array-like of shape (N,) or (N, 1)
        Predicted probability of being an LSBG.
    n_bins : int, optional
        Equal-width bins of the expected calibration error.

    Returns
    -------
    dict of str to float
        Keys :data:`CALIBRATION_METRICS`. ``ece`` is ``sum_b (n_b / N) |f_b - p_b|`` over the
        bins of :func:`reliability_bins`, with ``f_b`` the fraction of LSBGs and ``p_b`` the
        mean probability in bin ``b``; ``brier`` is the mean of ``(prob - y)**2``;
        ``log_loss`` is the mean of ``-log`` of the probability of the true class, with
        ``prob`` clipped to ``[1e-15, 1 - 1e-15]``. Lower is better for all three.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid or ``n_bins`` is not a positive integer.
    """
    y, p = check_binary(y_true, prob)
    n_bins = _check_bins(n_bins)
    index = bin_index(p, n_bins)
    gap = np.bincount(index, weights=y - p, minlength=n_bins)
    return {
        "ece": float(np.abs(gap).sum() / y.size),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(pointwise_log_loss(y, p).mean()),
    }


def completeness_purity_curve(y_true: Any, prob: Any) -> dict[str, np.ndarray]:
    """Completeness and purity of every decision threshold between distinct probabilities.

    An object is an LSBG when ``prob > threshold``. The thresholds are 0 (every object
    selected) and the midpoints between consecutive distinct values of ``prob``, so each
    possible selection appears once and a threshold never equals a probability of the data.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact; at least one LSBG is needed.
    prob : array-like of shape (N,) or (N, 1)
        Predicted probability of being an LSBG.

    Returns
    -------
    dict of str to ndarray
        ``threshold`` (increasing), ``completeness`` (non-increasing), ``purity`` and
        ``selected`` (number of objects above the threshold, int64), all of one length.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid or ``y_true`` holds no LSBG.
    """
    y, p = check_binary(y_true, prob)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise InputError("y_true: a completeness-purity curve needs at least one LSBG")
    order = np.argsort(p, kind="stable")
    sorted_p, sorted_y = p[order], y[order]
    last = np.flatnonzero(np.r_[sorted_p[1:] != sorted_p[:-1], True])  # last index of each value
    values = sorted_p[last]
    # Objects at or below each distinct value; the threshold after value k selects the rest.
    below = last + 1
    pos_below = np.cumsum(sorted_y)[last]
    thresholds = np.r_[0.0, 0.5 * (values[:-1] + values[1:])]
    selected = np.r_[y.size, y.size - below[:-1]]
    tp = np.r_[n_pos, n_pos - pos_below[:-1]]
    if values[0] == 0.0:  # objects at exactly 0 are never above a threshold of 0
        thresholds, selected, tp = thresholds[1:], selected[1:], tp[1:]
    return {
        "threshold": thresholds,
        "completeness": tp / n_pos,
        "purity": tp / np.maximum(selected, 1),
        "selected": selected.astype(np.int64),
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
