"""One run of a study: rebuild its training set, train (or resume), evaluate, record the result.

A :class:`StudyJob` holds only paths, numbers and strings, so it pickles to any worker: a local
process or a Dask worker on another machine that sees the same files. :func:`run_job` is
idempotent: a finished run (``result.json`` present) is returned as it is, a killed one resumes
from its last checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from deepshadows._io import atomic_path, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.parallel import InlineExecutor
from deepshadows.store.reader import open_store
from deepshadows.training.selection import RowSelection

__all__ = [
    "RESULT_FILE",
    "FailedRun",
    "StudyJob",
    "build_selection",
    "execute_jobs",
    "read_result",
    "run_job",
]

#: Written last, when a run is trained and evaluated; its presence marks the run finished.
RESULT_FILE = "result.json"
_EVALUATION = "evaluation_test"


@dataclass(frozen=True)
class StudyJob:
    """Everything a worker needs to carry out one run of a study.

    Parameters
    ----------
    name : str
        Folder name of the run inside the study's ``runs/``.
    label : str
        How tables and figures call the run (``"seed 3"``, ``"10 % random"``...).
    kind : {"store", "resplit", "noise", "bootstrap"}
        How the training set is made (see :func:`build_selection`).
    params : dict
        Parameters of that construction (``seed``, ``level``, ``mode``, ``index``).
    store : str
        Path of the store.
    run_dir : str
        Path of the run folder.
    train : dict
        :class:`~deepshadows.training.TrainConfig` as a dict.
    n_boot : int
        Bootstrap resamples of the test set for the intervals.
    threads : int or None
        PyTorch threads of the worker (None leaves its default).
    progress : bool
        Show the epoch progress bars and lines (for jobs run in the calling process).
    """

    name: str
    label: str
    kind: str
    params: dict[str, Any]
    store: str
    run_dir: str
    train: dict[str, Any]
    n_boot: int = 1000
    threads: int | None = None
    progress: bool = False

    def identity(self) -> dict[str, Any]:
        """Return what must be equal for a finished run to count as this job's result."""
        return {"kind": self.kind, "params": self.params, "train": self.train, "n_boot": self.n_boot}


def build_selection(store_path: str, kind: str, params: dict[str, Any]) -> tuple[RowSelection, np.ndarray]:
    """Rebuild a run's training selection and test rows from its kind and parameters.

    Parameters
    ----------
    store_path : str
        Path of the store.
    kind : {"store", "resplit", "noise", "bootstrap"}
        How the training set is made: the store's own split, a new split
        (:func:`~deepshadows.studies.selections.resplit_selection`), flipped training labels
        (:func:`~deepshadows.studies.selections.noise_selection`) or a bootstrap resample of the
        training set (:func:`~deepshadows.studies.selections.bootstrap_selection`).
    params : dict
        Parameters of that construction: ``seed`` (resplit), ``level``, ``mode`` and ``seed``
        (noise), ``index`` and ``seed`` (bootstrap); unused for ``"store"``.

    Returns
    -------
    selection : RowSelection
        The training and validation rows (and the training targets, for ``"noise"``).
    test_rows : ndarray of int
        Store rows of the test set.

    Raises
    ------
    ValueError
        If ``kind`` is unknown.
    """
    from deepshadows.studies import selections

    with open_store(store_path) as store:
        if kind == "store":
            return selections.store_selection(store)
        if kind == "resplit":
            return selections.resplit_selection(store, int(params["seed"]))
        if kind == "noise":
            return selections.noise_selection(
                store, float(params["level"]), str(params["mode"]), int(params["seed"])
            )
        if kind == "bootstrap":
            return selections.bootstrap_selection(store, int(params["index"]), int(params["seed"]))
    raise ValueError(f"unknown study run kind {kind!r}")


def read_result(run_dir: str | Path) -> dict[str, Any] | None:
    """Return a run's ``result.json``, or None when the run is not finished (or it is unreadable).

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.

    Returns
    -------
    dict or None
        The parsed result (see :func:`run_job`), or None.
    """
    path = Path(run_dir) / RESULT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_job(job: StudyJob) -> dict[str, Any]:
    """Train and evaluate one run of a study, or return its recorded result if already done.

    A run killed before it finished resumes from the ``last.pt`` checkpoint in its folder.

    Parameters
    ----------
    job : StudyJob
        The run: its training set, training configuration and folder.

    Returns
    -------
    dict
        The contents of the run's ``result.json``: ``name``, ``label``, ``identity``,
        ``selection`` (description of the training set), ``metrics`` and ``intervals`` on the
        test set, ``epochs_completed``, ``best_epoch``, ``seconds`` (this call),
        ``training_seconds`` (all epochs, also those of an interrupted earlier call) and
        ``evaluation`` (the folder with ``metrics.json`` and ``roc.npz``).

    Raises
    ------
    deepshadows.errors.InputError
        If the run folder holds a finished result of a different job.
    """
    import torch

    from deepshadows.evaluation.report import evaluate_predictions
    from deepshadows.evaluation.run import predict_rows
    from deepshadows.models import load_model
    from deepshadows.training.fit import TrainConfig, fit

    run_dir = Path(job.run_dir)
    done = read_result(run_dir)
    if done is not None:
        if done.get("identity") != json.loads(json.dumps(job.identity())):
            raise InputError(
                f"{run_dir}: holds a finished run with other settings; "
                "remove it or start the study with --overwrite"
            )
        return done
    if job.threads is not None:
        torch.set_num_threads(job.threads)
    start = time.perf_counter()
    selection, test_rows = build_selection(job.store, job.kind, job.params)
    cfg = TrainConfig.from_dict(job.train)
    resume = (run_dir / "last.pt").is_file()
    log_path = run_dir / "train.log"
    run_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            log_file.write(line + "\n")
            log_file.flush()
            if job.progress:
                tqdm.write(f"[{job.label}] {line}")

        trained = fit(
            job.store,
            run_dir,
            cfg,
            resume=resume,
            overwrite=not resume,
            progress=job.progress,
            log=log,
            selection=selection,
        )
    model, _ = load_model(run_dir, device=cfg.device)
    prob = predict_rows(model, job.store, test_rows, device=cfg.device)
    with open_store(job.store) as store:
        y_true = store.labels.astype(np.int64)[test_rows]
    evaluation = evaluate_predictions(
        y_true,
        prob,
        run_dir / _EVALUATION,
        name=job.label,
        n_boot=job.n_boot,
        seed=cfg.seed,
        extra={"store": job.store, "study_run": job.name, "selection": selection.description},
    )
    with atomic_path(run_dir / "test_predictions.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, rows=test_rows, probability=prob, label=y_true)
    result = {
        "name": job.name,
        "label": job.label,
        "identity": job.identity(),
        "selection": selection.description,
        "metrics": evaluation["metrics"],
        "intervals": evaluation["intervals"],
        "n_test": int(test_rows.size),
        "n_train": int(selection.train.size),
        "epochs_completed": trained["epochs_completed"],
        "best_epoch": trained["best_epoch"],
        "seconds": round(time.perf_counter() - start, 1),
        "training_seconds": round(sum(float(row["seconds"]) for row in trained["history"]), 1),
        "evaluation": str(run_dir / _EVALUATION),
        "job": asdict(job),
    }
    write_json_atomic(run_dir / RESULT_FILE, result)
    return json.loads(json.dumps(result))


@dataclass(frozen=True)
class FailedRun:
    """A run of a study that raised an error; a resumed study runs it again.

    Parameters
    ----------
    row : int
        Position of the run in the study's plan, from 1 (the baseline is 1).
    ident : str
        Name of the run (its folder in ``runs/``).
    run_dir : str
        Its folder.
    reason : str
        The error: its type and message.
    """

    row: int
    ident: str
    run_dir: str
    reason: str


def _failure(plan: Sequence[StudyJob], job: StudyJob, exc: BaseException) -> FailedRun:
    row = next(k for k, planned in enumerate(plan, start=1) if planned.name == job.name)
    return FailedRun(row, job.name, job.run_dir, f"{type(exc).__name__}: {exc}")


def execute_jobs(
    executor: Executor, pending: Sequence[StudyJob], plan: Sequence[StudyJob]
) -> Iterator[dict[str, Any] | FailedRun]:
    """Yield the result of every pending job as it finishes, or its failure; a failure stops no other.

    Parameters
    ----------
    executor : concurrent.futures.Executor
        Where the jobs run (an :class:`~deepshadows.parallel.InlineExecutor` runs them here, one
        by one).
    pending : sequence of StudyJob
        The jobs to run.
    plan : sequence of StudyJob
        Every job of the study, to number the failed ones.

    Yields
    ------
    dict or FailedRun
        A finished job's result (see :func:`run_job`), or the error of one that raised.
    """
    if isinstance(executor, InlineExecutor):
        for job in pending:
            try:
                yield run_job(job)
            except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others
                yield _failure(plan, job, exc)
        return
    futures = {executor.submit(run_job, job): job for job in pending}
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as exc:  # noqa: BLE001 - as above, for a worker's error
            yield _failure(plan, futures[future], exc)
