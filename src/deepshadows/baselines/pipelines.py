"""The paper's feature-based baselines as scikit-learn pipelines (section 3.1 of the paper).

Each baseline is imputation of failed measurements (the median of the training rows),
standardisation, then the classifier: an RBF support vector machine (the paper's grid search
found C = 1e4, gamma = 1e-3) or a random forest (100 trees, ``min_samples_split`` 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from deepshadows.errors import InputError

__all__ = ["BASELINES", "PAPER_PARAMS", "SEARCH_GRIDS", "make_baseline", "positive_scores"]

#: Short name -> display name of each baseline.
BASELINES: dict[str, str] = {"svm": "SVM", "rf": "random forest"}

#: The hyperparameters of the paper (its grid search for the SVM; its choice for the forest).
PAPER_PARAMS: dict[str, dict[str, Any]] = {
    "svm": {"C": 1e4, "gamma": 1e-3},
    "rf": {"n_estimators": 100, "min_samples_split": 10},
}

#: Grids of ``--search``, around the paper's values (pipeline step ``model``).
SEARCH_GRIDS: dict[str, dict[str, list[Any]]] = {
    "svm": {"model__C": [1e2, 1e3, 1e4, 1e5], "model__gamma": [1e-4, 1e-3, 1e-2, 1e-1]},
    "rf": {"model__n_estimators": [50, 100, 200], "model__min_samples_split": [2, 5, 10, 20]},
}


def make_baseline(kind: str, *, seed: int = 0, **params: Any) -> Pipeline:
    """Return an unfitted baseline pipeline: median imputation, standardisation, classifier.

    Parameters
    ----------
    kind : {"svm", "rf"}
        RBF support vector machine or random forest.
    seed : int, optional
        Seed of the random forest (the SVM is deterministic).
    **params
        Classifier parameters overriding :data:`PAPER_PARAMS` (e.g. ``C=100``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``impute``, ``scale`` and ``model``.

    Raises
    ------
    deepshadows.errors.InputError
        If ``kind`` is unknown.
    """
    if kind not in BASELINES:
        raise InputError(f"baseline: unknown model {kind!r}; choose from {', '.join(BASELINES)}")
    settings = {**PAPER_PARAMS[kind], **params}
    model: ClassifierMixin
    if kind == "svm":
        # Scores come from the decision function (see positive_scores), not Platt scaling,
        # so the SVM's own decision rule is kept and no internal cross-validation is run.
        model = SVC(kernel="rbf", **settings)
    else:
        model = RandomForestClassifier(random_state=seed, **settings)
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", model),
        ]
    )


def positive_scores(pipeline: Pipeline, features: np.ndarray) -> np.ndarray:
    """Return a score in [0, 1] per row for the positive class (LSBG), 0.5 at the decision boundary.

    The forest's is its class-1 probability (the fraction of trees voting LSBG, averaged);
    the SVM's is the logistic function of its decision value, so that thresholding at 0.5
    reproduces ``SVC.predict`` and the ROC curve is that of the decision values (a monotone
    transform changes neither the ranking nor the AUC).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A fitted :func:`make_baseline` pipeline.
    features : ndarray of shape (N, F)
        Feature rows.

    Returns
    -------
    ndarray of shape (N,), float64
    """
    if hasattr(pipeline, "predict_proba"):
        try:
            return np.asarray(pipeline.predict_proba(features)[:, 1], dtype=np.float64)
        except AttributeError:  # SVC without probability=True
            pass
    return expit(np.asarray(pipeline.decision_function(features), dtype=np.float64))


def chosen_params(pipeline: Pipeline, kind: str) -> Mapping[str, Any]:
    """Return the values of the searched hyperparameters of a fitted pipeline."""
    model = pipeline.named_steps["model"]
    return {key.split("__", 1)[1]: model.get_params()[key.split("__", 1)[1]] for key in SEARCH_GRIDS[kind]}
