"""Bootstrap confidence intervals on the metrics and the ROC curve (section 6.1, Table 3, Fig. 4a).

The test set is resampled with replacement ``n_boot`` times and every metric is recomputed
on each resample; the interval is the central ``level`` percentile range of those values
(a percentile bootstrap). Only prediction noise from the finite test set is captured, not
the spread from retraining the model.

All resamples are evaluated together with array operations. The resampling indices form one
``(n_boot, N)`` matrix drawn from ``numpy.random.default_rng(seed)``; it is drawn and used in
blocks of rows to bound memory, which yields exactly the same indices as drawing it at once.
The AUC of every resample comes from the Mann-Whitney rank statistic with ties counted as
one half, computed from per-resample counts of positives and negatives at each distinct
score; it equals :func:`sklearn.metrics.roc_auc_score` on the resampled data. The
calibration metrics of every resample come from per-resample sums over the probability bins
(expected calibration error) and means of per-object terms (Brier score, log loss). Resamples
in which a metric is undefined (no LSBG drawn, say) are left out of that metric's interval.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import check_int
from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_binary, check_threshold
from deepshadows.metrics.reliability import (
    CALIBRATION_METRICS,
    ECE_BINS,
    bin_index,
    calibration_metrics,
    pointwise_log_loss,
)
from deepshadows.metrics.scores import BINARY_METRICS, binary_metrics

__all__ = ["Interval", "bootstrap_metrics", "roc_band"]

#: Most elements of the resampling-index matrix held at once (rows are processed in blocks).
_CHUNK_ELEMENTS = 2_000_000
#: Default false-positive-rate grid of :func:`roc_band`.
_GRID_POINTS = 201


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval.

    Parameters
    ----------
    value : float
        Estimate on the full data set.
    low, high : float
        Bounds of the interval (``nan`` when no resample defined the metric).
    """

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """Return ``{"value": ..., "low": ..., "high": ...}`` as plain floats."""
        return {"value": float(self.value), "low": float(self.low), "high": float(self.high)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interval:
        """Build an interval from a mapping with keys ``value``, ``low``, ``high``.

        ``None`` (how ``nan`` is stored in JSON) becomes ``nan``.
        """

        def num(key: str) -> float:
            v = data.get(key)
            return float("nan") if v is None else float(v)

        return cls(num("value"), num("low"), num("high"))

    @classmethod
    def coerce(cls, entry: Any) -> Interval | None:
        """Read an interval as results store one: an Interval, a mapping, a number or None.

        A mapping goes to :meth:`from_dict`; a plain value (a number, or an array whose first
        element is the value) gets ``nan`` bounds; None stays None. Anything else raises
        ``TypeError``, ``ValueError`` or ``IndexError``.
        """
        if entry is None or isinstance(entry, Interval):
            return entry
        if isinstance(entry, Mapping):
            return cls.from_dict(entry)
        return cls(float(np.asarray(entry).ravel()[0]), float("nan"), float("nan"))

    def format(self, digits: int = 3) -> str:
        """Return e.g. ``"0.920 [0.912, 0.927]"``; undefined numbers print as ``nan``."""
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def __str__(self) -> str:
        return self.format()


# --------------------------------------------------------------------------- internals


def _check_seed(seed: int) -> int:
    return check_int(seed, "seed", allow_zero=True)


def _check_options(n_boot: int, level: float) -> tuple[int, float]:
    check_int(n_boot, "n_boot")
    try:
        lvl = float(level)
    except (TypeError, ValueError):
        raise InputError(f"level: expected a number in (0, 1), got {level!r}") from None
    if not 0.0 < lvl < 1.0:
        raise InputError(f"level: must lie strictly between 0 and 1, got {level!r}")
    return int(n_boot), lvl


def _score_groups(prob: np.ndarray) -> tuple[np.ndarray, int]:
    """Return the index of each object's distinct score (ascending) and the number of scores."""
    order = np.argsort(prob, kind="stable")
    sorted_p = prob[order]
    starts = np.empty(prob.size, dtype=bool)
    starts[0] = True
    starts[1:] = sorted_p[1:] != sorted_p[:-1]
    group = np.empty(prob.size, dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    return group, int(starts.sum())


def _resample_blocks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Yield consecutive row blocks of the ``(n_boot, n)`` resampling-index matrix."""
    rng = np.random.default_rng(_check_seed(seed))
    dtype = np.int32 if n < 2**31 else np.int64
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        m = min(rows, n_boot - start)
        yield rng.integers(0, n, size=(m, n), dtype=dtype)


def _auc_from_counts(wp: np.ndarray, wn: np.ndarray) -> np.ndarray:
    """AUC per row from counts of positives/negatives per distinct score (ascending scores)."""
    n_pos = wp.sum(axis=1)
    n_neg = wn.sum(axis=1)
    below = np.cumsum(wn, axis=1) - wn
    num = (wp * (below + 0.5 * wn)).sum(axis=1)
    den = (n_pos * n_neg).astype(np.float64)
    out = np.full(wp.shape[0], np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _roc_points(wp: np.ndarray, wn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points (fpr, tpr) per row, from the highest score down, starting at (0, 0).

    Rows without positives or negatives must be removed beforehand.
    """
    m = wp.shape[0]
    tp = np.concatenate([np.zeros((m, 1)), np.cumsum(wp[:, ::-1], axis=1)], axis=1)
    fp = np.concatenate([np.zeros((m, 1)), np.cumsum(wn[:, ::-1], axis=1)], axis=1)
    return fp / fp[:, -1:], tp / tp[:, -1:]


def _interp_rows(fpr: np.ndarray, tpr: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Evaluate piecewise-linear ROC curves (one per row) on a common fpr grid.

    Where a curve rises vertically (several points at the same fpr) the highest tpr is
    taken, so the value at fpr = 0 is the tpr reached before the first false positive.
    All rows are handled by one ``searchsorted``: row ``r`` is shifted by ``2 r``.
    """
    m, length = fpr.shape
    offset = 2.0 * np.arange(m)[:, None]
    xf = (fpr + offset).ravel()
    yf = tpr.ravel()
    xg = (grid[None, :] + offset).ravel()
    j = np.searchsorted(xf, xg, side="right") - 1
    row_end = (np.repeat(np.arange(m), grid.size) + 1) * length - 1
    j = np.clip(j, row_end - (length - 1), row_end)
    jn = np.minimum(j + 1, row_end)
    x0, x1 = xf[j], xf[jn]
    t = np.zeros_like(xg)
    np.divide(xg - x0, x1 - x0, out=t, where=x1 > x0)
    return (yf[j] + np.clip(t, 0.0, 1.0) * (yf[jn] - yf[j])).reshape(m, grid.size)


def _percentiles(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` percentile range along axis 0, ignoring rows with any nan."""
    q = 50.0 * (1.0 - level), 50.0 * (1.0 + level)
    values = values[~np.isnan(values).reshape(values.shape[0], -1).any(axis=1)]
    if values.shape[0] == 0:
        nan = np.full(values.shape[1:], np.nan)
        return nan, nan
    low, high = np.percentile(values, q, axis=0)
    return low, high


def _run(
    y: np.ndarray,
    p: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    threshold: float,
    grid: np.ndarray | None,
    calibration: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Evaluate every resample: metric arrays of length n_boot and, if asked, tpr curves on ``grid``.

    With ``calibration`` the arrays of :data:`CALIBRATION_METRICS` are added.
    """
    n = y.size
    group, n_groups = _score_groups(p)
    pred = (p > threshold).astype(np.int64)
    code = 2 * y + pred  # 0 TN, 1 FP, 2 FN, 3 TP
    key = 2 * group + y  # (distinct score, class)
    names = BINARY_METRICS + (CALIBRATION_METRICS if calibration else ())
    values = {m: np.empty(n_boot) for m in names}
    bins = bin_index(p, ECE_BINS)
    gap = (y - p) if calibration else None
    squared = (p - y) ** 2 if calibration else None
    loss = pointwise_log_loss(y, p) if calibration else None
    curves = np.full((n_boot, grid.size), np.nan) if grid is not None else None
    start = 0
    for idx in _resample_blocks(n, n_boot, seed):
        m = idx.shape[0]
        rows = np.arange(m)[:, None]
        cm = np.bincount((code[idx] + 4 * rows).ravel(), minlength=4 * m).reshape(m, 4)
        tn, fp, fn, tp = cm.T.astype(np.float64)
        sl = slice(start, start + m)
        values["accuracy"][sl] = (tp + tn) / n
        values["completeness"][sl] = np.divide(tp, tp + fn, out=np.full(m, np.nan), where=tp + fn > 0)
        values["purity"][sl] = np.divide(tp, tp + fp, out=np.full(m, np.nan), where=tp + fp > 0)
        w = np.bincount((key[idx] + 2 * n_groups * rows).ravel(), minlength=2 * n_groups * m)
        w = w.reshape(m, n_groups, 2)
        wn, wp = w[:, :, 0], w[:, :, 1]
        values["auc"][sl] = _auc_from_counts(wp, wn)
        if calibration:
            per_bin = np.bincount(
                (bins[idx] + ECE_BINS * rows).ravel(), weights=gap[idx].ravel(), minlength=ECE_BINS * m
            )
            values["ece"][sl] = np.abs(per_bin.reshape(m, ECE_BINS)).sum(axis=1) / n
            values["brier"][sl] = squared[idx].mean(axis=1)
            values["log_loss"][sl] = loss[idx].mean(axis=1)
        if curves is not None:
            ok = (wp.sum(axis=1) > 0) & (wn.sum(axis=1) > 0)
            if ok.any():
                fpr, tpr = _roc_points(wp[ok], wn[ok])
                curves[np.flatnonzero(ok) + start] = _interp_rows(fpr, tpr, grid)
        start += m
    return values, curves


# --------------------------------------------------------------------------- public API


@fill_doc
def bootstrap_metrics(
    y_true: Any,
    prob: Any,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    threshold: float = 0.5,
    level: float = 0.95,
    calibration: bool = False,
) -> dict[str, Interval]:
    """Percentile-bootstrap confidence intervals on accuracy, completeness, purity and AUC.

    Parameters
    ----------
    %(y_true)s
    %(prob)s
    n_boot : int, optional
        Number of resamples of the test set (the paper uses 1000).
    seed : int, optional
        Seed of the resampling; equal seeds give identical intervals.
    threshold : float, optional
        Decision threshold, as in :func:`~deepshadows.metrics.scores.binary_metrics`.
    level : float, optional
        Confidence level; the bounds are the ``50 (1 -+ level)`` percentiles.
    calibration : bool, optional
        Also give the calibration metrics (:func:`~deepshadows.metrics.scores.calibration_metrics`),
        from the same resamples.

    Returns
    -------
    dict of str to Interval
        Keys :data:`~deepshadows.metrics.scores.BINARY_METRICS`, then
        :data:`~deepshadows.metrics.scores.CALIBRATION_METRICS` with ``calibration``;
        ``value`` is the estimate on the full test set.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs or options are invalid.
    """
    y, p = check_binary(y_true, prob)
    n_boot, level = _check_options(n_boot, level)
    threshold = check_threshold(threshold)
    point = binary_metrics(y, p, threshold=threshold)
    if calibration:
        point |= calibration_metrics(y, p)
    values, _ = _run(y, p, n_boot=n_boot, seed=seed, threshold=threshold, grid=None, calibration=calibration)
    out = {}
    for name in values:
        low, high = _percentiles(values[name][:, None], level)
        out[name] = Interval(point[name], float(low[0]), float(high[0]))
    return out


def _full_curve(y: np.ndarray, p: np.ndarray, grid: np.ndarray) -> np.ndarray:
    group, n_groups = _score_groups(p)
    wp = np.bincount(group[y == 1], minlength=n_groups)[None, :]
    wn = np.bincount(group[y == 0], minlength=n_groups)[None, :]
    fpr, tpr = _roc_points(wp, wn)
    return _interp_rows(fpr, tpr, grid)[0]


@fill_doc
def roc_band(
    y_true: Any,
    prob: Any,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    grid: Any = None,
) -> dict[str, Any]:
    """ROC curve with a bootstrap band on the true positive rate (Fig. 4a).

    Every curve is the piecewise-linear ROC curve through the points of all thresholds
    (whose area is the AUC) evaluated on a common false-positive-rate grid; where it rises
    vertically the highest true positive rate is used.

    Parameters
    ----------
    %(y_true_both)s
    %(prob)s
    n_boot : int, optional
        Number of resamples.
    seed : int, optional
        Seed of the resampling; the same seed resamples exactly as
        :func:`bootstrap_metrics` does, so the AUC intervals agree.
    level : float, optional
        Confidence level of the band.
    grid : array-like, optional
        Increasing false positive rates in [0, 1]; default 201 points from 0 to 1.

    Returns
    -------
    dict
        ``fpr`` (the grid), ``tpr`` (full test set), ``low`` and ``high`` (pointwise
        percentile band over the resamples that contain both classes), all float arrays of
        the grid's length and non-decreasing; ``auc`` (:class:`Interval`), ``level``,
        ``n_boot`` and ``n`` (number of objects).

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs or options are invalid, the grid is not increasing within [0, 1], or
        ``y_true`` holds a single class.
    """
    y, p = check_binary(y_true, prob)
    n_boot, level = _check_options(n_boot, level)
    n_pos = int(y.sum())
    if n_pos in (0, y.size):
        raise InputError(f"y_true: an ROC curve needs both classes, found only label {int(y[0])}")
    if grid is None:
        fpr_grid = np.linspace(0.0, 1.0, _GRID_POINTS)
    else:
        fpr_grid = np.asarray(grid, dtype=np.float64)
        if (
            fpr_grid.ndim != 1
            or fpr_grid.size < 2
            or not np.isfinite(fpr_grid).all()
            or fpr_grid.min() < 0.0
            or fpr_grid.max() > 1.0
            or (np.diff(fpr_grid) <= 0).any()
        ):
            raise InputError("grid: must be a 1-D increasing array of at least 2 values in [0, 1]")
    values, curves = _run(y, p, n_boot=n_boot, seed=seed, threshold=0.5, grid=fpr_grid)
    low, high = _percentiles(curves, level)
    auc_low, auc_high = _percentiles(values["auc"][:, None], level)
    auc = binary_metrics(y, p)["auc"]
    return {
        "fpr": fpr_grid,
        "tpr": _full_curve(y, p, fpr_grid),
        "low": low,
        "high": high,
        "auc": Interval(auc, float(auc_low[0]), float(auc_high[0])),
        "level": level,
        "n_boot": n_boot,
        "n": int(y.size),
    }
