"""Train an ensemble: members with seeds ``seed, seed + 1, ...`` in one folder, then calibrate it.

Members train one after another in this process by default; with a scheduler
(``"local:N"`` or a Dask scheduler address, :mod:`deepshadows.parallel`) they train in
parallel, each on a worker that reads the store and writes its member folder by path.
``ensemble.json`` is rewritten atomically after every member that finishes, so an interrupted
ensemble resumes with its finished members kept and an interrupted member continuing from
its own ``last.pt``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from deepshadows._io import check_int
from deepshadows.ensemble.members import MemberJob, member_config, train_member
from deepshadows.errors import InputError
from deepshadows.models.ensemble_layout import (
    ENSEMBLE_NAME,
    MEMBERS_FOLDER,
    is_ensemble,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)
from deepshadows.training.run_files import remove_extra_members

__all__ = ["fit_ensemble"]

# Configuration fields that may change when an ensemble is resumed (as for one run).
_RESUMABLE = frozenset({"epochs", "patience", "device", "num_workers", "calibration"})
# Fields whose change makes finished members train (or calibrate) again on resume.
_RETRAIN = ("epochs", "patience", "calibration")


def _check_resumable(old: Mapping[str, Any], new: Mapping[str, Any], fingerprint: str, path: Path) -> None:
    from deepshadows.training.config import comparable_config

    hint = "pass --overwrite to start a new ensemble in this folder"
    config = comparable_config(old.get("config") or {})
    differ = sorted(
        k for k in config.keys() | new.keys() if k not in _RESUMABLE and config.get(k) != new.get(k)
    )
    if differ:
        detail = ", ".join(f"{k}: {config.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise InputError(
            f"{path}: cannot resume, the ensemble was started with a different configuration "
            f"({detail}); {hint}"
        )
    if (old.get("store") or {}).get("fingerprint") != fingerprint:
        raise InputError(f"{path}: cannot resume, the ensemble was trained on a different data store; {hint}")


def _single_run_files(out: Path) -> list[str]:
    """Return the files of a single run at the top of ``out`` (an ensemble has its calibration there)."""
    from deepshadows.training.run_files import RUN_FILES

    return [name for name in RUN_FILES if name != "calibration.json" and (out / name).exists()]


def _previous(
    out: Path, members: int, cfg: Mapping[str, Any], fingerprint: str, *, resume: bool, overwrite: bool
) -> list[dict[str, Any]] | None:
    """Check the folder; return the member entries of the ensemble to resume, if any."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    single = _single_run_files(out) if out.is_dir() else []
    if single:
        raise InputError(
            f"{out}: folder holds a single training run ({', '.join(single)}); "
            "choose another --out for the ensemble"
        )
    if not is_ensemble(out):
        return None
    path = out / ENSEMBLE_NAME
    if resume:
        old = read_ensemble_description(out)
        _check_resumable(old, cfg, fingerprint, path)
        if len(old["members"]) != members:
            raise InputError(
                f"{path}: cannot resume, the ensemble has {len(old['members'])} members, not {members}; "
                "pass the same --members, or --overwrite"
            )
        if any(old["config"].get(k) != cfg.get(k) for k in _RETRAIN):
            return [{**entry, "finished": False} for entry in old["members"]]
        return list(old["members"])
    if not overwrite:
        raise InputError(
            f"{out}: folder already holds an ensemble ({ENSEMBLE_NAME}); "
            "pass --resume to continue it or --overwrite to replace it"
        )
    remove_extra_members(out, members)
    path.unlink()
    (out / "calibration.json").unlink(missing_ok=True)
    return None


def fit_ensemble(
    store: str | os.PathLike[str],
    out: str | os.PathLike[str],
    cfg: Any,
    *,
    members: int = 5,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Train an ensemble of ``members`` networks and calibrate their mean probability.

    Member ``i`` is an ordinary run folder ``<out>/members/<i>`` trained by
    :func:`deepshadows.training.fit` with ``cfg`` and seed ``cfg.seed + i``. ``ensemble.json``
    (members, seeds, configuration, store, versions) is written atomically at the start and
    after every member; at the end the ensemble is calibrated on the validation split
    (:func:`~deepshadows.ensemble.calibrate.calibrate_ensemble`, method ``cfg.calibration``).
    With ``members=1`` it is exactly :func:`deepshadows.training.fit`: ``out`` becomes a
    single run folder.

    Parameters
    ----------
    store : path-like
        Data store with labelled ``train`` and ``val`` splits.
    out : path-like
        Ensemble folder (created if needed).
    cfg : TrainConfig
        Training configuration of every member; its seed is the first member's.
    members : int, optional
        Number of networks, at least 1.
    scheduler : str, optional
        None trains the members one after another in this process; ``"local:N"`` (a Dask
        ``LocalCluster`` of N workers) or a Dask scheduler address trains them in parallel
        (:func:`deepshadows.parallel.open_executor`).
    resume : bool, optional
        Continue an interrupted ensemble: finished members are kept, the others resume from
        their ``last.pt`` (or start). ``members`` must be the same; only ``epochs``,
        ``patience``, ``device``, ``num_workers`` and ``calibration`` may differ (a change of
        the first three of these, ``epochs``, ``patience`` or ``calibration``, continues the
        finished members too).
    overwrite : bool, optional
        Replace an ensemble already in ``out``.
    progress : bool, optional
        Show the epoch progress bars of a single run (``members=1``).
    log : callable, optional
        Called with lines of text: each member's training log (when trained in this process),
        each member's result and the calibration.

    Returns
    -------
    dict
        ``members`` (one summary per member: ``index``, ``seed``, ``best_epoch``,
        ``best_val_loss``, ``epochs_completed``, ``weights_sha256``; empty for ``members=1``),
        ``calibration`` (the ensemble's, or None), ``result`` (what :func:`fit` returned, for
        ``members=1``) and ``paths`` (``run``, ``description`` and ``calibration``).

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid configuration or ``members``, an unreadable store, a folder that holds a
        single run or an ensemble without ``resume`` or ``overwrite``, or an ensemble to resume
        that was started with a different configuration, store or number of members.
    """
    from deepshadows._provenance import package_versions, provenance
    from deepshadows.ensemble.calibrate import calibrate_ensemble
    from deepshadows.models import fingerprint_store
    from deepshadows.parallel import describe_scheduler, map_ordered, open_executor, worker_threads
    from deepshadows.training import fit

    check_int(members, "--members")
    cfg = cfg.validate()
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other; choose one")
    out = Path(out)
    emit = log if log is not None else (lambda _line: None)
    if members == 1:
        result = fit(store, out, cfg, resume=resume, overwrite=overwrite, progress=progress, log=log)
        paths = {"run": out, "description": None, "calibration": result["paths"]["calibration"]}
        return {"members": [], "calibration": result["calibration"], "result": result, "paths": paths}
    config = cfg.to_dict()
    fingerprint = fingerprint_store(store)
    entries = _previous(out, members, config, fingerprint, resume=resume, overwrite=overwrite)
    if entries is None:
        entries = [
            {"path": f"{MEMBERS_FOLDER}/{i}", "seed": cfg.seed + i, "finished": False, "weights_sha256": None}
            for i in range(members)
        ]
    description = {
        "members": entries,
        "seeds": [entry["seed"] for entry in entries],
        "config": config,
        "store": {"path": str(store), "fingerprint": fingerprint},
        "scheduler": describe_scheduler(scheduler, 1),
        "versions": package_versions(),
        "provenance": provenance(),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the ensemble folder ({exc.strerror})") from exc
    write_ensemble_description(out, description)
    store_path = str(Path(store).resolve())
    pending = [
        MemberJob(
            index=i,
            store=store_path,
            folder=str(member_folder(out, i).resolve()),
            config=member_config(config, i),
            resume=resume,
            overwrite=overwrite,
            threads=None if scheduler is None else worker_threads(scheduler),
        )
        for i, entry in enumerate(entries)
        if not entry.get("finished")
    ]
    kept = members - len(pending)
    emit(
        f"ensemble of {members} members (seeds {cfg.seed}..{cfg.seed + members - 1}): "
        f"{len(pending)} to train on {describe_scheduler(scheduler, 1)}"
        + (f", {kept} finished and kept" if kept else "")
    )
    task = functools.partial(train_member, log=log) if scheduler is None else train_member
    summaries: dict[int, dict[str, Any]] = {}
    with open_executor(scheduler, workers=1) as executor:
        for summary in map_ordered(executor, task, pending, max_in_flight=len(pending) or 1):
            index = summary["index"]
            summaries[index] = summary
            entries[index] = {**entries[index], "finished": True, "weights_sha256": summary["weights_sha256"]}
            write_ensemble_description(out, description | {"members": entries})
            emit(
                f"member {index} (seed {summary['seed']}): best epoch {summary['best_epoch']}, "
                f"val loss {summary['best_val_loss']:.4f}"
            )
    calibration = calibrate_ensemble(out, store, method=cfg.calibration, device=cfg.device, log=emit)
    paths = {"run": out, "description": out / ENSEMBLE_NAME, "calibration": out / "calibration.json"}
    ordered = [summaries[i] for i in sorted(summaries)]
    return {"members": ordered, "calibration": calibration, "result": None, "paths": paths}
