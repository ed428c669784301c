"""SourceExtractor-style features measured with ``sep``, and the T21 preselection on them."""

from __future__ import annotations

from deepshadows.features.measure import (
    FEATURE_NAMES,
    FLAG_MEASUREMENT_FAILED,
    FLAG_NO_DETECTION,
    FLAG_NONPOSITIVE_FLUX,
    MU_SENTINEL,
    Measurement,
    measure_candidate,
    measure_features,
    measure_many,
)
from deepshadows.features.preselection import passes_preselection

__all__ = [
    "FEATURE_NAMES",
    "FLAG_MEASUREMENT_FAILED",
    "FLAG_NO_DETECTION",
    "FLAG_NONPOSITIVE_FLUX",
    "MU_SENTINEL",
    "Measurement",
    "measure_candidate",
    "measure_features",
    "measure_many",
    "passes_preselection",
]
