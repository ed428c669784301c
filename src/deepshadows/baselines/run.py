"""``deepshadows baselines``: fit the SVM and the random forest on a store's features and score them.

A baselines folder holds, per model (``svm/``, ``rf/``): ``model.skops`` and ``model.json``
(the fitted pipeline and its description), and the evaluation of the test split as the CNN's
``evaluate`` writes it (``metrics.json``, ``metrics.md``, ``metrics.csv``, ``roc.png``,
``roc.npz``, ``confusion.png``, ``probabilities.png``); and ``config.json`` (the options, the
store and its fingerprint, the chosen hyperparameters and cross-validation scores, versions).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.baselines.data import UnmeasuredRow, feature_matrix, measured_feature_matrix
from deepshadows.baselines.io import save_baseline
from deepshadows.baselines.pipelines import (
    BASELINES,
    PAPER_PARAMS,
    SEARCH_GRIDS,
    chosen_params,
    make_baseline,
    positive_scores,
)
from deepshadows.errors import InputError
from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.features.measure import FEATURE_NAMES
from deepshadows.models.io import fingerprint_store
from deepshadows.store.reader import open_store

__all__ = ["run_baselines"]


def _search(
    kind: str,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    n_jobs: int | None,
    grid: Mapping[str, Sequence[Any]],
    folds: int,
) -> tuple[Any, dict[str, Any]]:
    """Tune a baseline by grid search with stratified k-fold cross-validation (ROC AUC)."""
    search = GridSearchCV(
        make_baseline(kind, seed=seed),
        {key: list(values) for key, values in grid.items()},
        scoring="roc_auc",
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        n_jobs=n_jobs,
        refit=True,
    )
    search.fit(features, labels)
    table = search.cv_results_
    scores = [
        {
            "params": {key.split("__", 1)[1]: _plain(value) for key, value in params.items()},
            "mean_auc": float(mean),
            "std_auc": float(std),
        }
        for params, mean, std in zip(
            table["params"], table["mean_test_score"], table["std_test_score"], strict=True
        )
    ]
    return search.best_estimator_, {"best_cv_auc": float(search.best_score_), "grid": scores}


def _check_enough(store_path: Any, split: str, labels: np.ndarray, left_out: int, need: int) -> None:
    """Refuse a split with fewer than ``need`` rows of a class, naming the rows left out."""
    n_artifacts, n_lsbgs = int(np.count_nonzero(labels == 0)), int(np.count_nonzero(labels == 1))
    if min(n_artifacts, n_lsbgs) >= need:
        return
    why = f" with measured features ({left_out} rows have none)" if left_out else ""
    raise InputError(
        f"{store_path}: split {split!r} has {n_artifacts} artifacts and {n_lsbgs} LSBGs{why}; "
        f"the baselines need at least {need} of each class there"
    )


def _unmeasured_line(rows: Sequence[UnmeasuredRow], n_rows: int, split: str) -> str:
    counts: dict[str, int] = {}
    for bad in rows:
        reason = bad.reason.split(",")[0]
        counts[reason] = counts.get(reason, 0) + 1
    why = "; ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    return (
        f"{len(rows)} of {n_rows} {split} rows have no measured feature ({why}); "
        "they are kept, imputed with the training medians"
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def run_baselines(
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    models: Sequence[str] = ("svm", "rf"),
    search: bool = False,
    grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
    n_boot: int = 1000,
    split: str = "test",
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Fit the feature baselines on the train split and evaluate them on ``split``.

    Parameters
    ----------
    store_path : path-like
        Store with a ``features`` table and labelled ``train`` and ``split`` rows.
    out_dir : path-like
        Output folder (created if needed; files in it are replaced).
    models : sequence of {"svm", "rf"}, optional
        Baselines to run.
    search : bool, optional
        Re-tune each baseline by grid search with ``folds``-fold cross-validation on the train
        split (:data:`~deepshadows.baselines.pipelines.SEARCH_GRIDS`) instead of using the
        paper's values (:data:`~deepshadows.baselines.pipelines.PAPER_PARAMS`).
    grids : mapping, optional
        Grids to search instead of the default ones (keys ``model__<parameter>``).
    folds : int, optional
        Cross-validation folds of the search.
    seed : int, optional
        Seed of the forest, the folds and the bootstrap.
    n_jobs : int or None, optional
        Parallel jobs of the search and the forest (None: one; -1: all cores).
    n_boot : int, optional
        Bootstrap resamples of the evaluation.
    split : str, optional
        Split to evaluate on.
    log : callable, optional
        Called with one line of progress per step.

    Returns
    -------
    dict
        ``models``: per baseline, ``params`` (the hyperparameters used), ``search`` (CV results or
        None), ``fit_seconds``, ``evaluation`` (what ``metrics.json`` holds), ``model_file``;
        plus ``out_dir``, ``config`` and ``unmeasured``: the rows of the train split and of
        ``split`` none of whose features could be measured
        (:class:`~deepshadows.baselines.data.UnmeasuredRow`, with the reason from their
        ``feature_flag``). They are kept, imputed with the training medians (a failed detection
        says something about an object), and their numbers are logged and recorded
        (``unmeasured`` in ``config.json``, ``n_unmeasured`` in ``metrics.json``).

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown model, an invalid option, a store without features or labels, or fewer
        than 2 rows of a class with measured features in the train split (``folds`` with
        ``search``) or no row of a class in ``split``.
    """
    emit = log if log is not None else (lambda _line: None)
    unknown = [m for m in models if m not in BASELINES]
    if unknown or not models:
        raise InputError(f"--model: choose from {', '.join(BASELINES)}, got {list(models)}")
    if int(folds) < 2:
        raise InputError(f"--folds: must be at least 2, got {folds}")
    out = make_output_dir(out_dir)
    with open_store(store_path) as store:
        x_train, y_train, _ = feature_matrix(store, "train")
        x_test, y_test, test_rows = feature_matrix(store, split)
        _, measured_train, _, unmeasured = measured_feature_matrix(store, "train")
        unmeasured_test = measured_feature_matrix(store, split)[3]
    # A failed measurement is information (faint LSBGs often go undetected): such rows are kept
    # and imputed with the training medians, but too few measured rows leave nothing to learn.
    _check_enough(store_path, "train", measured_train, len(unmeasured), int(folds) if search else 2)
    _check_enough(store_path, split, y_test, 0, 1)
    for name, rows, n in (("train", unmeasured, len(y_train)), (split, unmeasured_test, len(y_test))):
        if rows:
            emit(_unmeasured_line(rows, n, name))
    fingerprint = fingerprint_store(store_path)
    results: dict[str, Any] = {}
    for kind in models:
        name = BASELINES[kind]
        began = time.perf_counter()
        if search:
            grid = (grids or SEARCH_GRIDS)[kind]
            emit(f"{name}: grid search over {grid} with {folds}-fold cross-validation")
            pipeline, cv = _search(
                kind, x_train, y_train, seed=seed, n_jobs=n_jobs, grid=grid, folds=int(folds)
            )
        else:
            extra = {"n_jobs": n_jobs} if kind == "rf" else {}
            pipeline, cv = make_baseline(kind, seed=seed, **extra), None
            emit(f"{name}: fitting on {len(y_train)} rows with the paper's {PAPER_PARAMS[kind]}")
            pipeline.fit(x_train, y_train)
        seconds = time.perf_counter() - began
        params = {key: _plain(value) for key, value in chosen_params(pipeline, kind).items()}
        scores = positive_scores(pipeline, x_test)
        evaluation = evaluate_predictions(
            y_test,
            scores,
            out / kind,
            name=name,
            n_boot=n_boot,
            seed=seed,
            class_names=("artifact", "lsbg"),
            extra={
                "model": kind,
                "params": params,
                "store": str(store_path),
                "split": split,
                "n_unmeasured": len(unmeasured_test),
            },
        )
        metadata = {
            "model": kind,
            "name": name,
            "params": params,
            "features": list(FEATURE_NAMES),
            "store": {"path": str(store_path), "fingerprint": fingerprint},
            "search": cv,
            "metrics": evaluation.get("metrics"),
            "provenance": provenance(),
        }
        model_file = save_baseline(pipeline, out / kind / "model.skops", metadata=metadata)
        metrics = evaluation["metrics"]
        emit(
            f"{name}: {params}, fitted in {seconds:.1f} s; {split} accuracy {metrics['accuracy']:.3f}, "
            f"AUC {metrics['auc']:.3f}"
        )
        results[kind] = {
            "params": params,
            "search": cv,
            "fit_seconds": seconds,
            "evaluation": evaluation,
            "model_file": str(model_file),
            "n_test": int(test_rows.size),
        }
    config = {
        "store": {"path": str(store_path), "fingerprint": fingerprint},
        "models": list(models),
        "search": bool(search),
        "folds": int(folds),
        "seed": int(seed),
        "n_boot": int(n_boot),
        "split": split,
        "chosen": {kind: res["params"] for kind, res in results.items()},
        "cv": {kind: res["search"] for kind, res in results.items()},
        "unmeasured": {"train": len(unmeasured), split: len(unmeasured_test)},
        "provenance": provenance(),
    }
    write_json_atomic(out / "config.json", config)
    return {
        "models": results,
        "out_dir": str(out),
        "config": config,
        "unmeasured": unmeasured + unmeasured_test,
    }
