"""Calibrated probabilities and operating points of trained classifiers.

A classifier's sigmoid outputs rank objects well but need not be frequencies: of the cutouts
given 0.9, far fewer or more than 90 % may be LSBGs. A calibration, fitted on the validation
split at the end of training (or later by ``deepshadows calibrate``, on a split or on objects
the user labelled), maps the logits to probabilities that match the observed frequencies there
(:mod:`.fitting`: temperature scaling by default, Platt scaling or isotonic regression on
request), and stores the completeness and purity of the decision thresholds on those objects
(:mod:`.operating`), from which ``predict`` chooses the threshold for a target purity or
completeness, with bootstrap intervals when the objects were few enough to be kept. It is kept
as JSON (:mod:`.serialization`) beside the weights or in an exported model's description
(:mod:`.storage`).
"""

from __future__ import annotations

from deepshadows.calibration.fitting import (
    BINARY_ONLY_METHODS,
    CALIBRATION_METHODS,
    ProbabilityMap,
    fit_isotonic,
    fit_platt,
    fit_probability_map,
    fit_temperature,
)
from deepshadows.calibration.operating import (
    LABELLED_SPLIT,
    MAX_CURVE_POINTS,
    OperatingCurve,
    OperatingInterval,
    OperatingPoint,
    choose_operating_point,
    operating_curve,
)
from deepshadows.calibration.operating_bootstrap import OPERATING_BOOTSTRAP, bootstrap_operating_point
from deepshadows.calibration.record import (
    MAX_SAMPLE_OBJECTS,
    Calibration,
    CalibrationSample,
    fit_calibration,
    model_operating_point,
)
from deepshadows.calibration.serialization import calibration_from_dict, calibration_to_dict
from deepshadows.calibration.storage import (
    CALIBRATION_NAME,
    calibration_path,
    find_calibration,
    read_calibration,
    with_calibration,
    write_calibration,
)

__all__ = [
    "BINARY_ONLY_METHODS",
    "CALIBRATION_METHODS",
    "CALIBRATION_NAME",
    "LABELLED_SPLIT",
    "MAX_CURVE_POINTS",
    "MAX_SAMPLE_OBJECTS",
    "OPERATING_BOOTSTRAP",
    "Calibration",
    "CalibrationSample",
    "OperatingCurve",
    "OperatingInterval",
    "OperatingPoint",
    "ProbabilityMap",
    "bootstrap_operating_point",
    "calibration_from_dict",
    "calibration_path",
    "calibration_to_dict",
    "choose_operating_point",
    "find_calibration",
    "fit_calibration",
    "fit_isotonic",
    "fit_platt",
    "fit_probability_map",
    "fit_temperature",
    "model_operating_point",
    "operating_curve",
    "read_calibration",
    "with_calibration",
    "write_calibration",
]
