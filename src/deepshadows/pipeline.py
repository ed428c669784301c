"""End-to-end jobs that chain the library's steps (the ``demo`` command)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepshadows.errors import InputError
from deepshadows.inspection import inspect_store
from deepshadows.simulate import SimConfig, make_dataset
from deepshadows.store.reader import open_store

__all__ = ["run_demo"]


def run_demo(
    out: str | os.PathLike[str],
    *,
    n: int = 3000,
    epochs: int = 60,
    seed: int = 0,
    workers: int | None = None,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Run the whole chain on a small simulated DES set and gather it in an HTML report.

    Simulates the set (or reuses it), trains the CNN briefly, evaluates it, predicts, fits the
    SVM and random-forest baselines, compares them with the CNN, draws Grad-CAM galleries and
    writes ``report.html``.

    Parameters
    ----------
    out : path-like
        Folder for the data set (``des_demo.h5`` and its summary), the run (``run/`` with its
        evaluation and ``explain/``), ``baselines/``, ``comparison/``, ``predictions.csv`` and
        ``report.html``.
    n : int, optional
        Number of simulated objects.
    epochs : int, optional
        Training epochs (the paper trains 100 on 30,000 objects).
    seed : int, optional
        Seed of the data set and the training.
    workers : int, optional
        Simulation worker processes (default: all cores).
    log : callable, optional
        Receives one line per training epoch.

    Returns
    -------
    dict
        ``data`` (store summary), ``training`` (result of :func:`deepshadows.training.fit`),
        ``evaluation`` (test metrics), ``predictions`` (CSV path), ``comparison`` (the
        Markdown table of the CNN and the baselines) and ``report`` (HTML path).
    """
    from deepshadows.baselines import run_baselines
    from deepshadows.evaluation.compare import compare_models
    from deepshadows.evaluation.run import evaluate_run
    from deepshadows.explain import explain_run
    from deepshadows.inspection import default_summary_dir
    from deepshadows.predict import predict
    from deepshadows.report import write_report
    from deepshadows.training import TrainConfig, fit

    emit = log if log is not None else (lambda _line: None)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    store_path = folder / "des_demo.h5"
    cfg = SimConfig(survey="des", n=n, seed=seed)
    if not _matches(store_path, cfg):
        make_dataset(store_path, cfg, workers=workers, overwrite=True, resume=True)
    summary = inspect_store(store_path)
    training = fit(
        store_path,
        folder / "run",
        TrainConfig(epochs=epochs, batch_size=64, seed=seed),
        overwrite=True,
        log=log,
    )
    evaluation = evaluate_run(folder / "run", store_path, split="test", seed=seed)
    predictions = folder / "predictions.csv"
    predict(folder / "run", store_path, predictions, overwrite=True, progress=False)
    emit("fitting the SVM and random-forest baselines")
    run_baselines(store_path, folder / "baselines", seed=seed)
    comparison = compare_models([folder / "run", folder / "baselines"], folder / "comparison")
    emit("drawing Grad-CAM galleries")
    explain_run(folder / "run", store_path, folder / "run" / "explain", seed=seed)
    report = write_report(
        [
            default_summary_dir(store_path),
            folder / "run",
            folder / "baselines",
            folder / "comparison",
            predictions,
        ],
        folder / "report.html",
        title="DeepShadows demo",
    )
    return {
        "data": summary,
        "training": training,
        "evaluation": evaluation,
        "predictions": str(predictions),
        "comparison": comparison["table"],
        "report": str(report),
    }


def _matches(path: Path, cfg: SimConfig) -> bool:
    """Whether ``path`` is a complete store made with exactly ``cfg``."""
    if not path.exists():
        return False
    try:
        with open_store(path) as store:
            return store.config == json.loads(json.dumps(cfg.to_dict()))
    except InputError:
        return False
