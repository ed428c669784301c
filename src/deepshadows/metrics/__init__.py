"""Scores of a classifier's probabilities: pure functions of labels and probabilities.

Every model (the CNN, the baselines, the studies, ensembles and fine-tuned networks) is scored
by these functions, so their numbers compare directly: the binary and multi-class metrics
(:mod:`.scores`), the completeness-purity curve (:mod:`.curves`), calibration scores and
reliability bins (:mod:`.reliability`), bootstrap and binomial intervals (:mod:`.bootstrap`,
:mod:`.binomial`) and the rejection of the least certain objects (:mod:`.rejection`). The input
checks they share are in :mod:`.checks`. Nothing here reads files, draws or loads a model.
"""

from __future__ import annotations

from deepshadows.metrics.binomial import binomial_interval
from deepshadows.metrics.bootstrap import Interval, bootstrap_metrics, roc_band
from deepshadows.metrics.curves import completeness_purity_curve
from deepshadows.metrics.rejection import REJECTION_FRACTIONS, rejection_table
from deepshadows.metrics.reliability import CALIBRATION_METRICS, calibration_metrics, reliability_bins
from deepshadows.metrics.scores import (
    BINARY_METRICS,
    binary_metrics,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
)

__all__ = [
    "BINARY_METRICS",
    "CALIBRATION_METRICS",
    "REJECTION_FRACTIONS",
    "Interval",
    "binary_metrics",
    "binomial_interval",
    "bootstrap_metrics",
    "calibration_metrics",
    "completeness_purity_curve",
    "confusion",
    "multiclass_metrics",
    "reduce_to_binary",
    "rejection_table",
    "reliability_bins",
    "roc_band",
]
