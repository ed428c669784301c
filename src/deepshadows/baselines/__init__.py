"""Feature-based baselines of the paper: an RBF SVM and a random forest on the 19 features."""

from __future__ import annotations

from deepshadows.baselines.data import feature_matrix
from deepshadows.baselines.io import load_baseline, save_baseline
from deepshadows.baselines.pipelines import (
    BASELINES,
    PAPER_PARAMS,
    SEARCH_GRIDS,
    make_baseline,
    positive_scores,
)
from deepshadows.baselines.run import run_baselines

__all__ = [
    "BASELINES",
    "PAPER_PARAMS",
    "SEARCH_GRIDS",
    "feature_matrix",
    "load_baseline",
    "make_baseline",
    "positive_scores",
    "run_baselines",
    "save_baseline",
]
