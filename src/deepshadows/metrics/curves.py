"""Completeness and purity of LSBG probabilities over every decision threshold.

Labels and probabilities follow the conventions of :mod:`deepshadows.metrics.scores`: an
object is classified as an LSBG when ``prob > threshold``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_binary

__all__ = ["completeness_purity_curve"]


@fill_doc
def completeness_purity_curve(y_true: Any, prob: Any) -> dict[str, np.ndarray]:
    """Completeness and purity of every decision threshold between distinct probabilities.

    An object is an LSBG when ``prob > threshold``. The thresholds are 0 (every object
    selected) and the midpoints between consecutive distinct values of ``prob``, so each
    possible selection appears once and a threshold never equals a probability of the data.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = LSBG, 0 = artifact; at least one LSBG is needed.
    %(prob)s

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
