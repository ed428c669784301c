"""Shared evaluation of every classifier: metrics, bootstrap intervals, figures and reports.

All models (the CNN, the SVM and random-forest baselines, the seed and label-noise studies)
are scored by the same code so their numbers compare directly, as in Tables 2 to 6 of the
paper. Binary problems use label 1 for LSBGs; multi-class problems put the LSBGs at class
index 0 by convention (see :mod:`deepshadows.evaluation.report`).
"""

from __future__ import annotations

from deepshadows.evaluation.bootstrap import Interval, bootstrap_metrics, roc_band
from deepshadows.evaluation.figures import plot_confusion, plot_probability_histogram, plot_roc
from deepshadows.evaluation.metrics import (
    BINARY_METRICS,
    binary_metrics,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
)
from deepshadows.evaluation.report import evaluate_predictions, load_roc, metrics_table

__all__ = [
    "BINARY_METRICS",
    "Interval",
    "binary_metrics",
    "bootstrap_metrics",
    "confusion",
    "evaluate_predictions",
    "load_roc",
    "metrics_table",
    "multiclass_metrics",
    "plot_confusion",
    "plot_probability_histogram",
    "plot_roc",
    "reduce_to_binary",
    "roc_band",
]
