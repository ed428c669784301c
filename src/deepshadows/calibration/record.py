"""A model's calibration: its probability map, its validation operating curves and their origin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepshadows.calibration.fitting import ProbabilityMap, fit_probability_map
from deepshadows.calibration.operating import (
    TARGET_OPTIONS,
    OperatingCurve,
    OperatingPoint,
    choose_operating_point,
    operating_curve,
)
from deepshadows.errors import InputError
from deepshadows.evaluation.metrics import calibration_metrics

__all__ = ["Calibration", "fit_calibration", "model_operating_point"]


def _kind(calibrated: bool) -> str:
    return "calibrated" if calibrated else "uncalibrated"


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
        Where and how it was fitted: ``split``, ``n``, ``n_lsbg`` (binary), ``store``
        (``path`` and ``fingerprint``), ``metrics`` (``calibrated`` and ``uncalibrated``
        calibration metrics on the split).
    weights_sha256 : str, optional
        Checksum of the weight file it was fitted for.
    """

    probability_map: ProbabilityMap
    curves: Mapping[str, OperatingCurve] = field(default_factory=dict)
    fitted_on: Mapping[str, Any] = field(default_factory=dict)
    weights_sha256: str | None = None

    @property
    def method(self) -> str:
        """The calibration method (``temperature``, ``isotonic`` or ``none``)."""
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
    ) -> OperatingPoint:
        """Choose the decision threshold for a target from the stored validation curve.

        Parameters
        ----------
        target_purity, target_completeness : float, optional
            Exactly one target (see :func:`~deepshadows.calibration.choose_operating_point`).
        calibrated : bool, optional
            Whether the threshold is to apply to calibrated probabilities.

        Returns
        -------
        OperatingPoint
            The threshold and its validation completeness and purity.

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
        return choose_operating_point(
            curve,
            target_purity=target_purity,
            target_completeness=target_completeness,
            probabilities=_kind(calibrated and self.changes_probabilities),
        )

    def describe(self) -> str:
        """Return one line: the method and the split's calibration metrics before and after."""
        fitted = self.fitted_on
        text = f"calibration {self.probability_map.describe()}"
        if fitted.get("split"):
            text += f", fitted on the {fitted['split']} split ({fitted.get('n', '?')} objects)"
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
    weights_sha256: str | None = None,
) -> Calibration:
    """Fit a model's calibration on held-out objects and measure its operating curves there.

    Parameters
    ----------
    logits : array-like of shape (N,) or (N, K)
        The model's logits on the split.
    targets : array-like of int, shape (N,)
        True classes (1 = LSBG, 0 = artifact for a binary model).
    method : {"temperature", "isotonic", "none"}, optional
        The probability map (:func:`~deepshadows.calibration.fit_probability_map`).
    split : str, optional
        Name of the split, recorded.
    store : mapping, optional
        The store's ``path`` and ``fingerprint``, recorded.
    weights_sha256 : str, optional
        Checksum of the model's weight file, recorded.

    Returns
    -------
    Calibration
        The map and, for a binary model, the operating curves and the split's calibration
        metrics before and after.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid, or the split of a binary model lacks LSBGs or artifacts.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets)
    fitted_on: dict[str, Any] = {"split": split, "n": int(y.size)}
    if z.ndim == 1 and y.size and (int((y == 1).sum()) in (0, y.size)):
        present = "LSBGs" if (y == 1).all() else "artifacts"
        raise InputError(f"the {split} split holds only {present}; a calibration needs LSBGs and artifacts")
    probability_map = fit_probability_map(z, y, method=method)
    curves: dict[str, OperatingCurve] = {}
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
    return Calibration(probability_map, curves, fitted_on, weights_sha256)


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
        The chosen threshold and its validation completeness and purity.

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
            f"{option}: {model} has no validation completeness-purity curve stored with a "
            "calibration; run `deepshadows calibrate MODEL --data STORE` first"
        )
    return calibration.choose(
        target_purity=target_purity, target_completeness=target_completeness, calibrated=calibrated
    )
