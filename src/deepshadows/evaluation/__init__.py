"""Shared evaluation of every classifier: metrics, bootstrap intervals, figures and reports.

All models (the CNN, the SVM and random-forest baselines, the seed and label-noise studies)
are scored by the same code so their numbers compare directly, as in Tables 2 to 6 of the
paper; the calibration of their probabilities (expected calibration error, Brier score, log
loss, reliability diagram) is scored the same way. Binary problems use label 1 for LSBGs;
multi-class problems put the LSBGs at class index 0 by convention (see
:mod:`deepshadows.evaluation.report`).
"""

from __future__ import annotations

from deepshadows.evaluation.bootstrap import Interval, bootstrap_metrics, roc_band
from deepshadows.evaluation.calibration_figures import plot_completeness_purity, plot_reliability
from deepshadows.evaluation.curves import completeness_purity_curve
from deepshadows.evaluation.figures import plot_confusion, plot_probability_histogram, plot_roc
from deepshadows.evaluation.metrics import (
    BINARY_METRICS,
    binary_metrics,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
)
from deepshadows.evaluation.rejection import REJECTION_FRACTIONS, add_rejection, rejection_table
from deepshadows.evaluation.rejection_figures import plot_rejection
from deepshadows.evaluation.reliability import CALIBRATION_METRICS, calibration_metrics, reliability_bins
from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.evaluation.report_writers import load_roc, metrics_table, write_rejection_csv

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
