"""Run a study: plan its runs, execute them in parallel and resumably, gather tables and figures.

A study folder holds ``study.json`` (kind, configuration, store fingerprint, versions),
``runs/<name>/`` (one training run per job, with ``evaluation_test/`` and ``result.json``),
``results.md`` / ``results.csv`` (one row per run: Tables 5 and 6 of the paper) and figures:
``roc_curves.png`` (Fig. 8), for label noise ``tpr_ratio.png`` (Fig. 9), for the training-set
bootstrap ``intervals.md`` / ``intervals.csv`` / ``intervals.png``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from deepshadows._io import check_int, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.failures import failures_path, write_failures
from deepshadows.metrics.scores import BINARY_METRICS
from deepshadows.models import fingerprint_store
from deepshadows.parallel import (
    describe_scheduler,
    open_executor,
    parse_scheduler,
    worker_threads,
)
from deepshadows.store.reader import open_store
from deepshadows.studies.jobs import FailedRun, StudyJob, execute_jobs, read_result, run_job
from deepshadows.studies.selections import NOISE_MODES
from deepshadows.studies.summary import BASELINE, _number, _summarise
from deepshadows.training.config import comparable_config
from deepshadows.training.fit import TrainConfig

__all__ = ["STUDY_KINDS", "plan_study", "run_study"]

#: The studies: split seeds (Table 5), label noise (Table 6), training-set bootstrap.
STUDY_KINDS: tuple[str, ...] = ("splits", "label-noise", "bootstrap-train")
STUDY_FILE = "study.json"
# Settings that may change when a study is resumed: they do not change any run's result.
_RESUMABLE = frozenset({"jobs", "scheduler", "threads"})
# Parameters that only list runs: a study resumed with other values runs more (or fewer) of them.
_GROWABLE = frozenset({"seeds", "levels", "n"})


def _percent(level: float) -> str:
    return f"{100 * level:g} %"


def _check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind not in STUDY_KINDS:
        raise InputError(f"study: kind must be one of {', '.join(STUDY_KINDS)}, got {kind!r}")
    if kind == "splits":
        seeds = params.get("seeds")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 1000:
            raise InputError(f"--seeds: must be a number of splits in [1, 1000], got {seeds!r}")
    elif kind == "label-noise":
        levels = params.get("levels") or []
        if not levels:
            raise InputError("--levels: give at least one noise level, e.g. --levels 0.01 0.05 0.10 0.33")
        for level in levels:
            if not isinstance(level, int | float) or not 0.0 < float(level) <= 1.0:
                raise InputError(f"--levels: each level must lie in (0, 1], got {level!r}")
        if len(set(levels)) != len(levels):
            raise InputError(f"--levels: repeated level in {levels}")
        if params.get("mode") not in NOISE_MODES:
            raise InputError(
                f"--targeted: must be one of {', '.join(NOISE_MODES[1:])}, got {params.get('mode')!r}"
            )
    else:
        n = params.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 10000:
            raise InputError(f"--n: must be a number of resamples in [2, 10000], got {n!r}")
    return params


def plan_study(
    kind: str,
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    train: TrainConfig,
    *,
    params: dict[str, Any],
    n_boot: int = 1000,
    threads: int | None = None,
    progress: bool = False,
) -> list[StudyJob]:
    """List the runs of a study, the baseline (the store's own split, clean labels) first.

    Parameters
    ----------
    kind : {"splits", "label-noise", "bootstrap-train"}
        The study.
    store_path : path-like
        Labelled store.
    out_dir : path-like
        Study folder; run ``name`` goes to ``out_dir/runs/name``.
    train : TrainConfig
        Training configuration shared by all runs.
    params : dict
        ``splits``: ``seeds`` (number of new splits; split ``k`` uses seed ``s + k`` where ``s``
        is the store's own split seed). ``label-noise``: ``levels`` (fractions of the training
        labels to flip), ``mode`` (``random``, ``artifacts-to-lsbg`` or ``lsbg-to-artifacts``)
        and ``seed`` (of the flips). ``bootstrap-train``: ``n`` (resamples) and ``seed``;
        resample ``k`` also trains with seed ``train.seed + k``, so the spread covers
        everything that changes between trainings.
    n_boot : int, optional
        Bootstrap resamples of the test set in every evaluation.
    threads : int, optional
        PyTorch threads per run.
    progress : bool, optional
        Epoch progress of each run (for runs in the calling process).

    Returns
    -------
    list of StudyJob
    """
    params = _check_params(kind, dict(params))
    store = str(store_path)
    runs = Path(out_dir) / "runs"
    base_train = train.to_dict()

    def job(
        name: str, label: str, run_kind: str, run_params: dict[str, Any], cfg: dict[str, Any]
    ) -> StudyJob:
        return StudyJob(
            name=name,
            label=label,
            kind=run_kind,
            params=run_params,
            store=store,
            run_dir=str(runs / name),
            train=cfg,
            n_boot=n_boot,
            threads=threads,
            progress=progress,
        )

    jobs = [job(BASELINE, BASELINE, "store", {}, base_train)]
    if kind == "splits":
        with open_store(store_path) as opened:
            first = (opened.split_seed or 0) + 1
        for k in range(params["seeds"]):
            seed = first + k
            jobs.append(
                job(f"split_seed_{seed}", f"split seed {seed}", "resplit", {"seed": seed}, base_train)
            )
    elif kind == "label-noise":
        mode = params["mode"]
        for level in sorted(float(v) for v in params["levels"]):
            label = f"{100 * level:g} % {mode}"
            run_params = {"level": level, "mode": mode, "seed": int(params.get("seed", 0))}
            jobs.append(job(f"noise_{mode}_{level:g}", label, "noise", run_params, base_train))
    else:
        for k in range(1, params["n"] + 1):
            cfg = base_train | {"seed": int(train.seed) + k}
            run_params = {"index": k, "seed": int(params.get("seed", 0))}
            jobs.append(job(f"bootstrap_{k:03d}", f"resample {k}", "bootstrap", run_params, cfg))
    return jobs


def _prepare_folder(out: Path, identity: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
    study_file = out / STUDY_FILE
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other; choose one")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if study_file.exists():
        if overwrite:
            shutil.rmtree(out / "runs", ignore_errors=True)
            study_file.unlink()
        elif not resume:
            raise InputError(
                f"{out}: folder already holds a study; "
                "pass --resume to continue it or --overwrite to replace it"
            )
        else:
            try:
                old = json.loads(study_file.read_text(encoding="utf-8"))["identity"]
            except (OSError, ValueError, KeyError) as exc:
                raise InputError(
                    f"{study_file}: not readable ({exc}); pass --overwrite to start again"
                ) from exc
            # Studies started before the optimizer settings were recorded lack them.
            if isinstance(old.get("train"), dict):
                old["train"] = comparable_config(old["train"])
            new = json.loads(json.dumps(identity))
            differ = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            if differ:
                raise InputError(
                    f"{study_file}: cannot resume, the study was started with other settings "
                    f"({', '.join(differ)}); pass --overwrite to start again"
                )
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the study folder ({exc.strerror})") from exc


def _result_line(result: dict[str, Any]) -> str:
    iv = result["intervals"]
    cells = ", ".join(f"{m} {_number(iv[m]['value'])}" for m in BINARY_METRICS if iv.get(m))
    return (
        f"{result['label']}: {cells} ({result['epochs_completed']} epochs, best {result['best_epoch']}, "
        f"{result['seconds']:.0f} s)"
    )


def run_study(
    kind: str,
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    train: TrainConfig,
    *,
    params: dict[str, Any],
    n_boot: int = 1000,
    jobs: int = 1,
    scheduler: str | None = None,
    threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Run one of the uncertainty studies of the paper's Section 6 and its future work.

    Every run retrains the model from scratch on its own training set and is scored on a clean
    test set with the shared evaluation. Runs are independent jobs spread over ``jobs`` local
    processes or a Dask cluster (``scheduler``); each is resumable, and a resumed study skips the
    finished ones.

    Parameters
    ----------
    kind : {"splits", "label-noise", "bootstrap-train"}
        ``splits``: new random train/val/test assignments of the whole store, sizes unchanged
        (Table 5, Fig. 8a). ``label-noise``: flipped training labels (Table 6, Figs. 8b, 9).
        ``bootstrap-train``: models trained on bootstrap resamples of the training set, to set
        the training (model) variance beside the test-set variance.
    store_path : path-like
        Labelled store with train, val and test splits.
    out_dir : path-like
        Study folder.
    train : TrainConfig
        Training configuration of every run (``epochs`` is the main cost).
    params : dict
        See :func:`plan_study`.
    n_boot : int, optional
        Bootstrap resamples of the test set per evaluation.
    jobs : int, optional
        Runs trained at once in local processes (without ``scheduler``).
    scheduler : str, optional
        ``"local:N"`` or the address of a Dask scheduler (see :mod:`deepshadows.parallel`).
    threads : int, optional
        PyTorch threads per run (default: the cores shared evenly among local runs).
    resume : bool, optional
        Continue the study in ``out_dir``: finished runs are kept, interrupted ones resume from
        their last epoch. The number of splits, the noise levels and the number of resamples
        may change (to add runs to a study); the training settings may not.
    overwrite : bool, optional
        Replace a study already in ``out_dir``.
    progress : bool, optional
        Progress bar over runs (and the epochs of runs trained in this process).
    log : callable, optional
        Called with a line of text per finished run.

    Returns
    -------
    dict
        ``results`` (run name -> its ``result.json``, finished runs only), ``files`` (the
        tables and figures, over the finished runs; empty when the baseline run failed),
        ``skipped`` (runs already finished before this call), ``failed`` (the runs that raised
        an error, as :class:`FailedRun`: the others go on, and ``resume`` runs these again) and
        ``failures_path`` (``<out_dir>.failures.csv`` listing them, columns
        ``row, id, run_dir, reason``; None when none failed).

    Raises
    ------
    deepshadows.errors.InputError
        For invalid parameters, an unusable store or folder, or a study to resume that was
        started with other settings.
    """
    train = train.validate()
    check_int(jobs, "--jobs")
    parse_scheduler(scheduler)
    per_run_threads = worker_threads(scheduler, jobs, threads)
    inline = scheduler is None and jobs == 1
    out = Path(out_dir)
    store_path = Path(store_path)
    fingerprint = fingerprint_store(store_path)
    plan = plan_study(
        kind,
        store_path.resolve() if scheduler is not None else store_path,
        out.resolve() if scheduler is not None else out,
        train,
        params=params,
        n_boot=n_boot,
        threads=per_run_threads,
        progress=inline and progress,
    )
    # How many splits, levels or resamples is not part of the identity: a resumed study may
    # grow (or shrink) its list of runs; each run checks its own settings in run_job.
    checked = _check_params(kind, dict(params))
    identity = {
        "kind": kind,
        "params": {k: v for k, v in checked.items() if k not in _GROWABLE},
        "train": train.to_dict(),
        "n_boot": n_boot,
        "store_fingerprint": fingerprint,
    }
    _prepare_folder(out, identity, resume=resume, overwrite=overwrite)
    write_json_atomic(
        out / STUDY_FILE,
        {
            "kind": kind,
            "identity": identity,
            "store": str(store_path),
            "config": identity
            | {"params": checked, "jobs": jobs, "scheduler": scheduler, "threads": per_run_threads},
            "runs": [{"name": j.name, "label": j.label, "kind": j.kind, "params": j.params} for j in plan],
            "executor": describe_scheduler(scheduler, jobs),
            "provenance": provenance(),
        },
    )
    emit = log if log is not None else (lambda _line: None)
    results: dict[str, dict[str, Any]] = {}
    failed: list[FailedRun] = []
    pending = []
    for job in plan:
        done = read_result(job.run_dir)
        if done is not None:
            results[job.name] = run_job(replace(job, progress=False))  # checks it is this job's
        else:
            pending.append(job)
    skipped = sorted(results)
    if skipped:
        emit(f"{len(skipped)} of {len(plan)} runs already finished; {len(pending)} to run")
    runs = "run" if len(pending) == 1 else "runs"
    emit(f"{kind} study: {len(pending)} {runs} on {describe_scheduler(scheduler, jobs)}")
    with (
        open_executor(scheduler, workers=jobs) as executor,
        tqdm(
            total=len(plan),
            initial=len(skipped),
            desc=f"study {kind}",
            unit="run",
            disable=not progress or inline,
        ) as bar,
    ):
        for result in execute_jobs(executor, pending, plan):
            bar.update()
            if isinstance(result, FailedRun):
                failed.append(result)
                emit(f"{result.ident}: failed ({result.reason}); --resume runs it again")
                continue
            results[result["name"]] = result
            emit(_result_line(result))
    failed.sort(key=lambda bad: bad.row)
    listed = write_failures(failures_path(out), failed)
    finished = [job for job in plan if job.name in results]
    files: dict[str, str] = {}
    if BASELINE in results:
        files = _summarise(kind, out, finished, results)
    elif finished:
        emit(f"{BASELINE}: failed, so no tables or figures; the finished runs are kept for --resume")
    if failed:
        emit(f"{len(failed)} of {len(plan)} runs failed; they are listed in {listed}")
    return {"results": results, "files": files, "skipped": skipped, "failed": failed, "failures_path": listed}
