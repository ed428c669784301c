"""Calibration metrics of LSBG probabilities: reliability bins, ECE, Brier score and log loss.

How far the LSBG probabilities can be read as frequencies is measured by
:func:`calibration_metrics`: the expected calibration error over :data:`ECE_BINS` equal-width
bins of ``prob`` (:func:`reliability_bins`), the Brier score and the log loss. All three are
computed on the probability of the positive class, so a three-class model is scored on its
LSBG-versus-rest probability. Labels and probabilities follow the conventions of
:mod:`deepshadows.metrics.scores`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import check_int
from deepshadows.metrics.checks import check_binary

__all__ = [
    "CALIBRATION_METRICS",
    "ECE_BINS",
    "LOG_LOSS_EPS",
    "calibration_metrics",
    "reliability_bins",
]

#: Calibration metrics of the LSBG probability: expected calibration error, Brier score, log loss.
CALIBRATION_METRICS: tuple[str, ...] = ("ece", "brier", "log_loss")
#: Number of equal-width probability bins of the expected calibration error.
ECE_BINS = 15
#: Probabilities are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` in the log loss.
LOG_LOSS_EPS = 1e-15


def _check_bins(n_bins: int) -> int:
    return check_int(n_bins, "n_bins")


def bin_index(prob: np.ndarray, n_bins: int) -> np.ndarray:
    """Return the equal-width bin of each probability: ``[k/n, (k+1)/n)``, 1 in the last bin."""
    return np.minimum((prob * n_bins).astype(np.int64), n_bins - 1)


def _binned(y_true: Any, prob: Any, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Check labels, probabilities and ``n_bins``; return ``y``, ``p``, each bin index, ``n_bins``."""
    y, p = check_binary(y_true, prob)
    n_bins = _check_bins(n_bins)
    return y, p, bin_index(p, n_bins), n_bins


def pointwise_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return ``-log`` of the probability given to each object's true class (clipped)."""
    q = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return -np.where(y == 1, np.log(q), np.log1p(-q))


@fill_doc
def reliability_bins(y_true: Any, prob: Any, *, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Group the objects into equal-width bins of ``prob``: the data of a reliability diagram.

    Parameters
    ----------
    %(y_true)s
    %(prob)s
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
    y, p, index, n_bins = _binned(y_true, prob, n_bins)
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


@fill_doc
def calibration_metrics(y_true: Any, prob: Any, *, n_bins: int = ECE_BINS) -> dict[str, float]:
    """Return the expected calibration error, Brier score and log loss of LSBG probabilities.

    Parameters
    ----------
    %(y_true)s
    %(prob)s
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
    y, p, index, n_bins = _binned(y_true, prob, n_bins)
    gap = np.bincount(index, weights=y - p, minlength=n_bins)
    return {
        "ece": float(np.abs(gap).sum() / y.size),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(pointwise_log_loss(y, p).mean()),
    }
