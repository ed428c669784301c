"""Shared evaluation of every classifier: metrics, bootstrap intervals, figures and reports.

All models (the CNN, the SVM and random-forest baselines, the seed and label-noise studies)
are scored by the same code so their numbers compare directly, as in Tables 2 to 6 of the
paper; the calibration of their probabilities (expected calibration error, Brier score, log
loss, reliability diagram) is scored the same way. Binary problems use label 1 for LSBGs;
multi-class problems put the LSBGs at class index 0 by convention (see
:mod:`deepshadows.evaluation.report`).
"""

from __future__ import annotations

from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.evaluation.report_writers import add_rejection, load_roc, metrics_table, write_rejection_csv
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
from deepshadows.viz.rejection import plot_rejection
from deepshadows.viz.reliability import plot_completeness_purity, plot_reliability
from deepshadows.viz.scores import plot_confusion, plot_probability_histogram, plot_roc

__all__ = [
    "BINARY_METRICS",
    "CALIBRATION_METRICS",
    "REJECTION_FRACTIONS",
    "Interval",
    "add_rejection",
    "binary_metrics",
    "bootstrap_metrics",
    "calibration_metrics",
    "completeness_purity_curve",
    "confusion",
    "evaluate_predictions",
    "load_roc",
    "metrics_table",
    "multiclass_metrics",
    "plot_completeness_purity",
    "plot_confusion",
    "plot_probability_histogram",
    "plot_rejection",
    "plot_reliability",
    "plot_roc",
    "reduce_to_binary",
    "rejection_table",
    "reliability_bins",
    "roc_band",
    "write_rejection_csv",
]
