"""Operating points: the decision threshold that meets a target purity or completeness.

When a calibration is fitted, the completeness and purity of every decision threshold on the
validation split are stored with it as an :class:`OperatingCurve` (at most
:data:`MAX_CURVE_POINTS` thresholds, spread evenly over the ranks of the probabilities).
:func:`choose_operating_point` then picks the threshold for a target:

purity ``P``
    the threshold of highest completeness among those with purity at least ``P``;
completeness ``C``
    the threshold of highest purity among those with completeness at least ``C``.

The completeness and purity it reports are those measured on the validation split: on other
data they vary with the sample and with the fraction of LSBGs (purity above all).

When the fitting sample is small its curve is uncertain, and so is the threshold chosen on it.
:func:`bootstrap_operating_point` measures how much: the sample is resampled with replacement
(1000 times by default, with a fixed seed, by the resampling of
:mod:`deepshadows.metrics.bootstrap`), the curve of each resample is measured and the
threshold chosen for the target again, exactly as above; the percentile intervals of the chosen
thresholds and of the completeness and purity they reach form an :class:`OperatingInterval`.
Resamples in which no threshold reaches the target are counted, not dropped silently. The
probabilities are those of the stored calibration map: the uncertainty of the map itself is not
included, but a monotone map does not change which selections of objects are possible, and these
selections are what is resampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.metrics.bootstrap import Interval
from deepshadows.metrics.scores import completeness_purity_curve

__all__ = [
    "LABELLED_SPLIT",
    "MAX_CURVE_POINTS",
    "OperatingCurve",
    "OperatingInterval",
    "OperatingPoint",
    "choose_operating_point",
    "fitted_data",
    "operating_curve",
]

#: Most thresholds stored in a curve.
MAX_CURVE_POINTS = 200
#: ``split`` of a calibration fitted on labelled objects named by the user rather than a store's split.
LABELLED_SPLIT = "labelled"
#: Options that set a target, by target name (named in error messages).
TARGET_OPTIONS = {"purity": "--target-purity", "completeness": "--target-completeness"}


def fitted_data(split: str) -> str:
    """Return how messages name the objects a curve was measured on.

    Parameters
    ----------
    split : str
        A store's split, or :data:`LABELLED_SPLIT`.

    Returns
    -------
    str
        ``"the val split"``, or ``"the labelled objects"``.
    """
    return "the labelled objects" if split == LABELLED_SPLIT else f"the {split} split"


@dataclass(frozen=True)
class OperatingCurve:
    """Completeness and purity of decision thresholds, measured on one split.

    Parameters
    ----------
    threshold : ndarray of float64
        Increasing thresholds: an object is an LSBG when its probability exceeds one.
    completeness, purity : ndarray of float64
        Fraction of the LSBGs above each threshold, and fraction of LSBGs among the objects
        above it.
    split : str
        Split the curve was measured on.
    """

    threshold: np.ndarray
    completeness: np.ndarray
    purity: np.ndarray
    split: str = "val"

    def __post_init__(self) -> None:
        arrays = [np.asarray(a, dtype=np.float64) for a in (self.threshold, self.completeness, self.purity)]
        if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1 or arrays[0].size == 0:
            raise InputError("curve: threshold, completeness and purity must be 1-D of one non-zero length")
        t, c, p = arrays
        if not all(np.isfinite(a).all() for a in arrays) or (np.diff(t) <= 0).any():
            raise InputError("curve: thresholds must be finite and strictly increasing")
        if min(c.min(), p.min()) < 0.0 or max(c.max(), p.max()) > 1.0:
            raise InputError("curve: completeness and purity must lie in [0, 1]")
        object.__setattr__(self, "threshold", t)
        object.__setattr__(self, "completeness", c)
        object.__setattr__(self, "purity", p)

    def __len__(self) -> int:
        return int(self.threshold.size)


def _format_threshold(value: float) -> str:
    return f"{value:.3g}"


def _percent(fraction: float) -> str:
    """``"4 %"``; a fraction that is not zero but rounds to it reads ``"< 1 %"``."""
    return "< 1 %" if 0.0 < fraction < 0.005 else f"{100 * fraction:.0f} %"


@dataclass(frozen=True)
class OperatingInterval:
    """Bootstrap intervals of an operating point, from the sample its curve was measured on.

    Parameters
    ----------
    threshold, completeness, purity : Interval
        The chosen threshold and the completeness and purity it reaches on the sample, each
        with its percentile interval over the resamples in which the target could be met.
    n : int
        Objects in the sample.
    n_lsbg : int
        LSBGs among them.
    n_boot : int
        Resamples drawn.
    unmet : int
        Resamples in which no threshold reaches the target (or a class was not drawn).
    level : float
        Confidence level of the intervals.
    seed : int
        Seed of the resampling.
    """

    threshold: Interval
    completeness: Interval
    purity: Interval
    n: int
    n_lsbg: int
    n_boot: int
    unmet: int
    level: float = 0.95
    seed: int = 0

    @property
    def unmet_fraction(self) -> float:
        """Fraction of the resamples in which the target cannot be met."""
        return self.unmet / self.n_boot

    def to_dict(self) -> dict[str, Any]:
        """Return the intervals and counts as plain JSON values (``nan`` bounds become None)."""

        def plain(interval: Interval) -> dict[str, float | None]:
            return {k: (v if np.isfinite(v) else None) for k, v in interval.to_dict().items()}

        return {
            "threshold": plain(self.threshold),
            "completeness": plain(self.completeness),
            "purity": plain(self.purity),
            "n": int(self.n),
            "n_lsbg": int(self.n_lsbg),
            "n_boot": int(self.n_boot),
            "unmet": int(self.unmet),
            "unmet_fraction": float(self.unmet_fraction),
            "level": float(self.level),
            "seed": int(self.seed),
        }


@dataclass(frozen=True)
class OperatingPoint:
    """A decision threshold chosen for a target, with what it gave on the validation split.

    Parameters
    ----------
    threshold : float
        An object is an LSBG when its probability exceeds it.
    target : {"purity", "completeness"}
        The metric that was asked for.
    target_value : float
        Its requested lower bound.
    completeness, purity : float
        Measured at ``threshold`` on ``split``.
    split : str
        Split of the curve.
    probabilities : {"calibrated", "uncalibrated"}
        Which probabilities the threshold applies to.
    interval : OperatingInterval, optional
        Bootstrap intervals of the threshold and of what it reaches, when the calibration kept
        the objects it was fitted on (:func:`bootstrap_operating_point`).
    """

    threshold: float
    target: str
    target_value: float
    completeness: float
    purity: float
    split: str = "val"
    probabilities: str = "calibrated"
    interval: OperatingInterval | None = None

    @property
    def other(self) -> str:
        """The metric that was not targeted (the one this point gives in return)."""
        return "completeness" if self.target == "purity" else "purity"

    def describe(self) -> str:
        """Return one line such as ``"threshold 0.734 on the calibrated probability for purity >= 0.9: ..."``.

        With an :attr:`interval`, every number is followed by its bootstrap interval, e.g.
        ``"threshold 0.31 [0.12, 0.58] on the calibrated probability for completeness >= 0.9:
        expected purity 0.830 [0.700, 0.950] (completeness 0.917 [0.850, 0.970]) on 60 labelled
        objects; 95 % bootstrap intervals, 4 % of 1000 resamples cannot meet the target"``.
        """
        band = self.interval
        if band is None:
            return (
                f"threshold {self.threshold:.4g} on the {self.probabilities} probability for "
                f"{self.target} >= {self.target_value:g}: expected {self.other} "
                f"{getattr(self, self.other):.3f} ({self.target} {getattr(self, self.target):.3f}) "
                f"on {fitted_data(self.split)}"
            )
        low, high = (_format_threshold(v) for v in (band.threshold.low, band.threshold.high))
        objects = (
            f"{band.n} labelled objects"
            if self.split == LABELLED_SPLIT
            else f"{band.n} objects of the {self.split} split"
        )
        other, target = (getattr(band, name).format(3) for name in (self.other, self.target))
        return (
            f"threshold {_format_threshold(self.threshold)} [{low}, {high}] on the {self.probabilities} "
            f"probability for {self.target} >= {self.target_value:g}: expected {self.other} {other} "
            f"({self.target} {target}) on {objects}; {100 * band.level:g} % bootstrap intervals, "
            f"{_percent(band.unmet_fraction)} of {band.n_boot} resamples cannot meet the target"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the point as plain JSON values (with ``interval`` when it has one)."""
        out = {
            "threshold": float(self.threshold),
            "target": self.target,
            "target_value": float(self.target_value),
            "completeness": float(self.completeness),
            "purity": float(self.purity),
            "split": self.split,
            "probabilities": self.probabilities,
        }
        if self.interval is not None:
            out["interval"] = self.interval.to_dict()
        return out


@fill_doc
def operating_curve(
    y_true: Any, prob: Any, *, split: str = "val", max_points: int = MAX_CURVE_POINTS
) -> OperatingCurve:
    """Measure completeness and purity at up to ``max_points`` thresholds.

    The thresholds are those of
    :func:`~deepshadows.metrics.scores.completeness_purity_curve` (every distinct selection
    of the objects); when there are more than ``max_points``, a subset evenly spaced in rank
    is kept, always with the lowest (everything selected) and the highest.

    Parameters
    ----------
    %(y_true_both)s
    %(prob)s
    split : str, optional
        Name of the split, recorded with the curve.
    max_points : int, optional
        Most thresholds kept.

    Returns
    -------
    OperatingCurve
        The curve.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid, a class is missing or ``max_points`` is below 2.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise InputError(f"max_points: must be an integer of at least 2, got {max_points!r}")
    y = np.asarray(y_true)
    if y.size and (y == 1).all():
        raise InputError(f"y_true: no artifacts among {fitted_data(split)}; a purity needs them")
    curve = completeness_purity_curve(y_true, prob)
    n = curve["threshold"].size
    keep = np.unique(np.round(np.linspace(0, n - 1, min(n, max_points))).astype(np.int64))
    return OperatingCurve(
        curve["threshold"][keep], curve["completeness"][keep], curve["purity"][keep], split=split
    )


def _target(name: str, value: Any) -> float:
    option = TARGET_OPTIONS[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{option}: expected a number in (0, 1], got {value!r}") from None
    if not 0.0 < number <= 1.0:
        raise InputError(f"{option}: must lie in (0, 1], got {value!r}")
    return number


def choose_operating_point(
    curve: OperatingCurve,
    *,
    target_purity: float | None = None,
    target_completeness: float | None = None,
    probabilities: str = "calibrated",
) -> OperatingPoint:
    """Choose the decision threshold that meets a target purity or completeness on ``curve``.

    Parameters
    ----------
    curve : OperatingCurve
        Completeness and purity of the thresholds on the validation split.
    target_purity : float, optional
        Lowest acceptable purity, in (0, 1]; the threshold of highest completeness that
        reaches it is chosen (the highest such threshold on a tie).
    target_completeness : float, optional
        Lowest acceptable completeness, in (0, 1]; the threshold of highest purity that
        reaches it is chosen (the one of highest completeness on a tie).
    probabilities : {"calibrated", "uncalibrated"}, optional
        Which probabilities the curve's thresholds apply to, recorded in the result.

    Returns
    -------
    OperatingPoint
        The threshold and the completeness and purity it had on the curve's split.

    Raises
    ------
    deepshadows.errors.InputError
        If not exactly one target is given, the target lies outside (0, 1], or no threshold of
        the curve reaches it; the message names the option.
    """
    if (target_purity is None) == (target_completeness is None):
        raise InputError("give one of --target-purity and --target-completeness")
    name = "purity" if target_purity is not None else "completeness"
    value = _target(name, target_purity if name == "purity" else target_completeness)
    reached = getattr(curve, name)
    ok = np.flatnonzero(reached >= value - 1e-12)
    if ok.size == 0:
        best = int(np.argmax(reached))
        raise InputError(
            f"{TARGET_OPTIONS[name]} {value:g}: no threshold reaches it on {fitted_data(curve.split)} "
            f"(highest {name} {reached[best]:.3f}, at completeness {curve.completeness[best]:.3f} and "
            f"threshold {curve.threshold[best]:.4g}); choose a lower target"
        )
    primary = curve.completeness if name == "purity" else curve.purity
    secondary = curve.threshold if name == "purity" else curve.completeness
    pick = ok[np.lexsort((secondary[ok], primary[ok]))[-1]]
    return OperatingPoint(
        threshold=float(curve.threshold[pick]),
        target=name,
        target_value=value,
        completeness=float(curve.completeness[pick]),
        purity=float(curve.purity[pick]),
        split=curve.split,
        probabilities=probabilities,
    )
