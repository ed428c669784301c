"""A model's calibration: its probability map, its operating curves, their origin and its sample.

The sample, the logits and labels of the fitted objects, is kept when they were few: the
operating points chosen from the calibration then carry bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepshadows.calibration.fitting import ProbabilityMap, fit_probability_map
from deepshadows.calibration.operating import (
    LABELLED_SPLIT,
    TARGET_OPTIONS,
    OperatingCurve,
    OperatingPoint,
    choose_operating_point,
    fitted_data,
    operating_curve,
)
from deepshadows.calibration.operating_bootstrap import bootstrap_operating_point
from deepshadows.errors import InputError
from deepshadows.metrics.scores import calibration_metrics

__all__ = [
    "MAX_SAMPLE_OBJECTS",
    "Calibration",
    "CalibrationSample",
    "fit_calibration",
    "model_operating_point",
]

#: Most objects whose logits and labels a calibration of a binary model keeps: below it an
#: operating point's threshold is uncertain enough to need an interval, and the JSON stays
#: small (about 15 bytes an object).
MAX_SAMPLE_OBJECTS = 5000


def _kind(calibrated: bool) -> str:
    return "calibrated" if calibrated else "uncalibrated"


@dataclass(frozen=True)
class CalibrationSample:
    """The objects a binary model's calibration was fitted on: logits and labels.

    Parameters
    ----------
    logits : ndarray of float32, shape (N,)
        The model's logits (float32, as the model computes them; kept exactly in JSON).
    labels : ndarray of int64, shape (N,)
        True labels, 1 = LSBG, 0 = artifact.
    """

    logits: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        z = np.asarray(self.logits, dtype=np.float32)
        y = np.asarray(self.labels)
        if z.ndim != 1 or z.size == 0 or y.shape != z.shape:
            raise InputError("sample: needs one label per logit, as two non-empty lists of one length")
        if not np.isfinite(z).all():
            raise InputError(f"sample: logits hold {int((~np.isfinite(z)).sum())} non-finite value(s)")
        if y.dtype.kind not in "biu" or not np.isin(y, (0, 1)).all():
            raise InputError("sample: labels must be 0 (artifact) or 1 (LSBG)")
        object.__setattr__(self, "logits", z)
        object.__setattr__(self, "labels", y.astype(np.int64))

    def __len__(self) -> int:
        return int(self.labels.size)


@dataclass(frozen=True)
class Calibration:
    """Everything stored about a model's probabilities, fitted on one split.

    Parameters
    ----------
    probability_map : ProbabilityMap
        How the model's logits become calibrated probabilities.
    curves : mapping of str to OperatingCurve
        ``"calibrated"`` and ``"uncalibrated"``: completeness and purity of decision thresholds
        on the fitting split for either kind of probability (binary models only; empty for
        models of several classes).
    fitted_on : mapping
        Where and how it was fitted: ``split`` (a store's split, or ``"labelled"`` for objects
        named by the user), ``n``, ``n_lsbg`` (binary), ``store`` (``path`` and
        ``fingerprint``), ``data`` (for labelled objects: ``path``, ``labels``, the label table
        or None, and what else the loader reported), ``metrics`` (``calibrated`` and
        ``uncalibrated`` calibration metrics on the objects).
    weights_sha256 : str, optional
        Checksum of the weight file it was fitted for.
    sample : CalibrationSample, optional
        The fitted objects' logits and labels, kept for binary models fitted on at most
        :data:`MAX_SAMPLE_OBJECTS` objects: operating points chosen with this calibration then
        carry bootstrap intervals (:func:`~deepshadows.calibration.bootstrap_operating_point`).
    """

    probability_map: ProbabilityMap
    curves: Mapping[str, OperatingCurve] = field(default_factory=dict)
    fitted_on: Mapping[str, Any] = field(default_factory=dict)
    weights_sha256: str | None = None
    sample: CalibrationSample | None = None

    @property
    def method(self) -> str:
        """The calibration method (``temperature``, ``platt``, ``isotonic`` or ``none``)."""
        return self.probability_map.method

    @property
    def changes_probabilities(self) -> bool:
        """Whether the calibrated probabilities differ from the model's (method is not ``none``)."""
        return self.method != "none"

    def probabilities(self, logits: Any, *, calibrated: bool = True) -> np.ndarray:
        """Return the calibrated (or, with ``calibrated=False``, the model's) probabilities.

        Parameters
        ----------
        logits : array-like of shape (N,) or (N, K)
            The model's logits.
        calibrated : bool, optional
            Apply the probability map; otherwise the plain sigmoid or softmax.

        Returns
        -------
        ndarray of float64, the shape of ``logits``
            Probabilities.
        """
        return (self.probability_map if calibrated else ProbabilityMap("none")).apply(logits)

    def curve(self, *, calibrated: bool = True) -> OperatingCurve | None:
        """Return the operating curve of calibrated or uncalibrated probabilities, if stored.

        Parameters
        ----------
        calibrated : bool, optional
            Which probabilities.

        Returns
        -------
        OperatingCurve or None
            The curve; None for models of several classes.
        """
        return self.curves.get(_kind(calibrated and self.changes_probabilities))

    def choose(
        self,
        *,
        target_purity: float | None = None,
        target_completeness: float | None = None,
        calibrated: bool = True,
        interval: bool = True,
    ) -> OperatingPoint:
        """Choose the decision threshold for a target from the stored curve.

        Parameters
        ----------
        target_purity, target_completeness : float, optional
            Exactly one target (see :func:`~deepshadows.calibration.choose_operating_point`).
        calibrated : bool, optional
            Whether the threshold is to apply to calibrated probabilities.
        interval : bool, optional
            Add the bootstrap intervals of the point
            (:func:`~deepshadows.calibration.bootstrap_operating_point`, 1000 resamples, seed 0)
            when the calibration kept its :attr:`sample`.

        Returns
        -------
        OperatingPoint
            The threshold and its completeness and purity on the fitted objects, with their
            intervals when asked for and possible.

        Raises
        ------
        deepshadows.errors.InputError
            If no curve is stored (models of several classes) or the target cannot be met.
        """
        curve = self.curve(calibrated=calibrated)
        if curve is None:
            option = TARGET_OPTIONS["purity" if target_purity is not None else "completeness"]
            raise InputError(
                f"{option}: operating points apply to binary models; this calibration has no curve"
            )
        point = choose_operating_point(
            curve,
            target_purity=target_purity,
            target_completeness=target_completeness,
            probabilities=_kind(calibrated and self.changes_probabilities),
        )
        if not interval or self.sample is None:
            return point
        prob = self.probabilities(self.sample.logits, calibrated=calibrated)
        return bootstrap_operating_point(self.sample.labels, prob, point=point, split=curve.split)

    def describe(self) -> str:
        """Return one line: the method and the fitted objects' calibration metrics before and after."""
        fitted = self.fitted_on
        text = f"calibration {self.probability_map.describe()}"
        if fitted.get("split"):
            path = (fitted.get("data") or {}).get("path")
            text += f", fitted on {fitted_data(fitted['split'])}" + (f" of {path}" if path else "")
            text += f" ({fitted.get('n', '?')} objects"
            text += f", {fitted['n_lsbg']} LSBGs)" if "n_lsbg" in fitted else ")"
        metrics = fitted.get("metrics") or {}
        before, after = metrics.get("uncalibrated"), metrics.get("calibrated")
        if before and after and self.changes_probabilities:
            text += (
                f": ECE {before['ece']:.3f} -> {after['ece']:.3f}, "
                f"log loss {before['log_loss']:.3f} -> {after['log_loss']:.3f}"
            )
        return text


def fit_calibration(
    logits: Any,
    targets: Any,
    *,
    method: str = "temperature",
    split: str = "val",
    store: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    weights_sha256: str | None = None,
) -> Calibration:
    """Fit a model's calibration on held-out objects and measure its operating curves there.

    For a binary model fitted on at most :data:`MAX_SAMPLE_OBJECTS` objects their logits
    (float32) and labels are kept too, for the bootstrap intervals of operating points.

    Parameters
    ----------
    logits : array-like of shape (N,) or (N, K)
        The model's logits on the split.
    targets : array-like of int, shape (N,)
        True classes (1 = LSBG, 0 = artifact for a binary model).
    method : {"temperature", "platt", "isotonic", "none"}, optional
        The probability map (:func:`~deepshadows.calibration.fit_probability_map`).
    split : str, optional
        Name of the split, or :data:`~deepshadows.calibration.operating.LABELLED_SPLIT` for
        objects named by the user; recorded.
    store : mapping, optional
        The store's ``path`` and ``fingerprint``, recorded.
    data : mapping, optional
        Where labelled objects came from (``path``, ``labels``, ...), recorded.
    weights_sha256 : str, optional
        Checksum of the model's weight file, recorded.

    Returns
    -------
    Calibration
        The map and, for a binary model, the operating curves, the calibration metrics before
        and after and (for a small sample) the sample.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid, or the objects of a binary model lack LSBGs or artifacts.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets)
    fitted_on: dict[str, Any] = {"split": split, "n": int(y.size)}
    if z.ndim == 1 and y.size and (int((y == 1).sum()) in (0, y.size)):
        present = "LSBGs" if (y == 1).all() else "artifacts"
        holds = "hold" if split == LABELLED_SPLIT else "holds"
        raise InputError(
            f"{fitted_data(split)} {holds} only {present}; a calibration needs LSBGs and artifacts"
        )
    probability_map = fit_probability_map(z, y, method=method)
    curves: dict[str, OperatingCurve] = {}
    sample = None
    if z.ndim == 1 and y.size <= MAX_SAMPLE_OBJECTS:
        sample = CalibrationSample(np.asarray(logits, dtype=np.float32), y)
    if z.ndim == 1:
        fitted_on["n_lsbg"] = int((y == 1).sum())
        raw = ProbabilityMap("none").apply(z)
        calibrated = probability_map.apply(z)
        fitted_on["metrics"] = {
            "uncalibrated": calibration_metrics(y, raw),
            "calibrated": calibration_metrics(y, calibrated),
        }
        curves["uncalibrated"] = operating_curve(y, raw, split=split)
        if probability_map.method != "none":
            curves["calibrated"] = operating_curve(y, calibrated, split=split)
    if store is not None:
        fitted_on["store"] = dict(store)
    if data is not None:
        fitted_on["data"] = dict(data)
    return Calibration(probability_map, curves, fitted_on, weights_sha256, sample)


def model_operating_point(
    model: Any,
    calibration: Calibration | None,
    *,
    n_classes: int,
    target_purity: float | None = None,
    target_completeness: float | None = None,
    calibrated: bool = True,
) -> OperatingPoint:
    """Choose a model's decision threshold for a target, with errors that say what to do.

    Parameters
    ----------
    model : path-like or str
        The model, as the user named it (for messages).
    calibration : Calibration or None
        The model's calibration (:func:`~deepshadows.calibration.find_calibration`).
    n_classes : int
        Number of classes of the model (1 for a binary model).
    target_purity, target_completeness : float, optional
        Exactly one target.
    calibrated : bool, optional
        Whether the threshold applies to the calibrated probabilities.

    Returns
    -------
    OperatingPoint
        The chosen threshold and its completeness and purity on the objects the calibration
        was fitted on, with their bootstrap intervals when the calibration kept those objects
        (see :meth:`Calibration.choose`).

    Raises
    ------
    deepshadows.errors.InputError
        If both or neither target is given, the model has several classes, it has no stored
        curve (the message says to run ``deepshadows calibrate``), or the target cannot be met.
    """
    if target_purity is not None and target_completeness is not None:
        raise InputError("--target-purity and --target-completeness exclude each other; give one")
    option = TARGET_OPTIONS["purity" if target_purity is not None else "completeness"]
    if n_classes > 1:
        raise InputError(f"{option}: applies to binary models only; {model} has {n_classes} classes")
    if calibration is None or calibration.curve(calibrated=calibrated) is None:
        raise InputError(
            f"{option}: {model} has no completeness-purity curve stored with a "
            "calibration; run `deepshadows calibrate MODEL --data STORE` first"
        )
    return calibration.choose(
        target_purity=target_purity, target_completeness=target_completeness, calibrated=calibrated
    )
