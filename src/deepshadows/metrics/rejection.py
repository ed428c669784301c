"""Accuracy against rejecting the most uncertain objects (an ensemble's disagreement, say).

The objects are ordered by their uncertainty; for each fraction ``f`` the ``round(f * N)``
most uncertain are set aside (ties broken by their order in the input, the later ones first)
and the accuracy is measured on the others. A useful uncertainty makes the accuracy rise with
``f``: the objects set aside are those the model gets wrong most often.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_threshold

__all__ = ["REJECTION_FRACTIONS", "rejection_table"]

#: Fractions of the most uncertain objects set aside in the table of ``evaluate``.
REJECTION_FRACTIONS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def rejection_table(
    y_true: Any,
    prob: Any,
    uncertainty: Any,
    *,
    threshold: float = 0.5,
    fractions: Sequence[float] = REJECTION_FRACTIONS,
) -> list[dict[str, Any]]:
    """Accuracy on the objects kept after rejecting the most uncertain fraction.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True labels: 1 = LSBG, 0 = artifact, or class indices for K classes.
    prob : array-like of shape (N,) or (N, K)
        Probability of being an LSBG (an LSBG when above ``threshold``) or of each class
        (the arg-max is the prediction).
    uncertainty : array-like of shape (N,)
        Uncertainty of each object; larger is less certain. Must be finite.
    threshold : float, optional
        Decision threshold of a binary model.
    fractions : sequence of float, optional
        Fractions in [0, 1) of objects to reject.

    Returns
    -------
    list of dict
        One row per fraction: ``fraction``, ``rejected`` and ``kept`` (counts), ``accuracy``
        on the kept objects and ``max_uncertainty`` (the largest uncertainty kept).

    Raises
    ------
    deepshadows.errors.InputError
        If the arrays differ in length or are empty, an uncertainty is not finite, or a
        fraction lies outside [0, 1).
    """
    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    u = np.asarray(uncertainty, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or p.shape[0] != y.size or u.shape != y.shape:
        raise InputError(
            f"labels, probabilities and uncertainties must describe the same objects, got shapes "
            f"{y.shape}, {p.shape} and {u.shape}"
        )
    if not np.isfinite(u).all():
        raise InputError("uncertainty: every value must be finite")
    predicted = p.argmax(axis=1) if p.ndim == 2 else (p > check_threshold(threshold)).astype(y.dtype)
    correct = predicted == y
    order = np.argsort(u, kind="stable")  # least uncertain first
    rows = []
    for fraction in fractions:
        if not 0.0 <= float(fraction) < 1.0:
            raise InputError(f"fraction: must lie in [0, 1), got {fraction!r}")
        rejected = int(round(float(fraction) * y.size))
        kept = order[: y.size - rejected]
        rows.append(
            {
                "fraction": float(fraction),
                "rejected": rejected,
                "kept": int(kept.size),
                "accuracy": float(correct[kept].mean()),
                "max_uncertainty": float(u[kept].max()),
            }
        )
    return rows
