"""Validation of the inputs shared by the evaluation modules: labels, probabilities, thresholds.

Every check raises :class:`deepshadows.errors.InputError` with the argument's name, never a
warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepshadows.errors import InputError

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []


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
