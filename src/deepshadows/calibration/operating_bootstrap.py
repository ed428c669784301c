"""Bootstrap intervals of an operating point: how far its threshold moves with the sample."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from deepshadows.calibration.operating import (
    MAX_CURVE_POINTS,
    OperatingInterval,
    OperatingPoint,
    choose_operating_point,
    fitted_data,
    operating_curve,
)
from deepshadows.errors import InputError
from deepshadows.metrics.bootstrap import Interval, _check_options, _percentiles, _resample_blocks
from deepshadows.metrics.checks import check_binary

__all__ = ["OPERATING_BOOTSTRAP", "bootstrap_operating_point"]

#: Resamples of the bootstrap interval of an operating point.
OPERATING_BOOTSTRAP = 1000


def bootstrap_operating_point(
    y_true: Any,
    prob: Any,
    *,
    target_purity: float | None = None,
    target_completeness: float | None = None,
    point: OperatingPoint | None = None,
    split: str = "val",
    probabilities: str = "calibrated",
    n_boot: int = OPERATING_BOOTSTRAP,
    seed: int = 0,
    level: float = 0.95,
    max_points: int = MAX_CURVE_POINTS,
) -> OperatingPoint:
    """Choose the operating point on a sample and give it bootstrap intervals.

    Each resample of the sample (drawn as :func:`deepshadows.evaluation.bootstrap_metrics`
    draws them) has its curve measured by :func:`operating_curve` and its threshold chosen by
    :func:`choose_operating_point`, as for the full sample; the intervals are the central
    ``level`` percentile ranges of the chosen thresholds and of the completeness and purity
    they reach on their resample. Resamples in which no threshold reaches the target, or that
    lack LSBGs or artifacts, are counted in :attr:`OperatingInterval.unmet` and left out of
    the intervals.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels of the sample, 1 = LSBG, 0 = artifact.
    prob : array-like of shape (N,)
        Probabilities to which the threshold applies.
    target_purity, target_completeness : float, optional
        Exactly one target, as in :func:`choose_operating_point`.
    point : OperatingPoint, optional
        The point already chosen for this target (on the stored, possibly thinned curve of
        this sample); its values are the estimates of the intervals. By default it is chosen
        on the sample's curve.
    split : str, optional
        Name of the sample (a store's split or :data:`LABELLED_SPLIT`), for messages.
    probabilities : {"calibrated", "uncalibrated"}, optional
        Which probabilities ``prob`` are, recorded in the result.
    n_boot : int, optional
        Number of resamples.
    seed : int, optional
        Seed of the resampling; equal seeds give equal intervals.
    level : float, optional
        Confidence level of the intervals.
    max_points : int, optional
        Most thresholds of each resample's curve (as for the stored curve).

    Returns
    -------
    OperatingPoint
        ``point`` (or the point chosen on the sample) with its :attr:`~OperatingPoint.interval`.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs or options are invalid, the sample lacks LSBGs or artifacts, or (without
        ``point``) the target cannot be met on the full sample.
    """
    y, p = check_binary(y_true, prob)
    n_boot, level = _check_options(n_boot, level)
    if point is None:
        point = choose_operating_point(
            operating_curve(y, p, split=split, max_points=max_points),
            target_purity=target_purity,
            target_completeness=target_completeness,
            probabilities=probabilities,
        )
    n_lsbg = int(y.sum())
    if n_lsbg in (0, y.size):
        raise InputError(f"y_true: {fitted_data(split)} need LSBGs and artifacts for an operating point")
    targets = {f"target_{point.target}": point.target_value}
    chosen = np.full((n_boot, 3), np.nan)
    unmet, row = 0, 0
    for block in _resample_blocks(y.size, n_boot, seed):
        for idx in block:
            try:
                again = choose_operating_point(
                    operating_curve(y[idx], p[idx], split=split, max_points=max_points), **targets
                )
            except InputError:  # no threshold reaches the target, or a class was not drawn
                unmet += 1
            else:
                chosen[row] = again.threshold, again.completeness, again.purity
            row += 1
    low, high = _percentiles(chosen, level)
    estimates = (point.threshold, point.completeness, point.purity)
    threshold, completeness, purity = (
        Interval(float(v), float(lo), float(hi)) for v, lo, hi in zip(estimates, low, high, strict=True)
    )
    interval = OperatingInterval(
        threshold, completeness, purity, int(y.size), n_lsbg, n_boot, unmet, level, int(seed)
    )
    return replace(point, interval=interval)
