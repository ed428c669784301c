"""Shared evaluation of every classifier: metrics, bootstrap intervals, figures and reports.

All models (the CNN, the SVM and random-forest baselines, the seed and label-noise studies)
are scored by the same code so their numbers compare directly, as in Tables 2 to 6 of the
paper; the calibration of their probabilities (expected calibration error, Brier score, log
loss, reliability diagram) is scored the same way. Binary problems use label 1 for LSBGs;
multi-class problems put the LSBGs at class index 0 by convention (see
:mod:`deepshadows.evaluation.report`).
"""

from __future__ import annotations

from deepshadows import metrics as _metrics
from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.evaluation.report_writers import add_rejection, load_roc, metrics_table, write_rejection_csv
from deepshadows.metrics import *  # noqa: F403  (the scores, re-exported where they were first documented)
from deepshadows.viz.rejection import plot_rejection
from deepshadows.viz.reliability import plot_completeness_purity, plot_reliability
from deepshadows.viz.scores import plot_confusion, plot_probability_histogram, plot_roc

__all__ = [
    "add_rejection",
    "evaluate_predictions",
    "load_roc",
    "metrics_table",
    "plot_completeness_purity",
    "plot_confusion",
    "plot_probability_histogram",
    "plot_rejection",
    "plot_reliability",
    "plot_roc",
    "write_rejection_csv",
]
__all__ += _metrics.__all__
