"""Training one member of an ensemble: a picklable job that runs :func:`deepshadows.training.fit`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MemberJob", "member_config", "train_member"]


@dataclass(frozen=True)
class MemberJob:
    """What a worker needs to train member ``index`` of an ensemble (paths and plain values).

    Parameters
    ----------
    index : int
        Member index, from 0.
    store : str
        Store path (absolute for remote workers).
    folder : str
        The member's run folder.
    config : dict
        The member's training configuration (:meth:`TrainConfig.to_dict`, its own seed).
    resume : bool
        Continue the member's run from its ``last.pt``.
    overwrite : bool
        Replace a run already in the member's folder.
    threads : int, optional
        PyTorch threads of the training (None leaves the default); set when local workers
        share the cores (:func:`deepshadows.parallel.worker_threads`).
    """

    index: int
    store: str
    folder: str
    config: dict[str, Any]
    resume: bool = False
    overwrite: bool = False
    threads: int | None = None


def train_member(job: MemberJob, log: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Train one member (in this process or on a worker) and summarise it.

    Parameters
    ----------
    job : MemberJob
        The member.
    log : callable, optional
        Called with each line of the member's training log, prefixed with ``member <i>:``.

    Returns
    -------
    dict
        ``index``, ``seed``, ``best_epoch``, ``best_val_loss``, ``epochs_completed`` and
        ``weights_sha256`` (of the kept weights).
    """
    import json

    from deepshadows.training import TrainConfig, fit

    if job.threads is not None:
        import torch

        torch.set_num_threads(job.threads)
    cfg = TrainConfig.from_dict(job.config)
    prefixed = None if log is None else (lambda line: log(f"member {job.index}: {line}"))
    result = fit(
        job.store,
        job.folder,
        cfg,
        resume=job.resume,
        overwrite=job.overwrite,
        progress=False,
        log=prefixed,
    )
    sidecar = json.loads(result["paths"]["model_json"].read_text(encoding="utf-8"))
    return {
        "index": job.index,
        "seed": cfg.seed,
        "best_epoch": int(result["best_epoch"]),
        "best_val_loss": float(result["best_val_loss"]),
        "epochs_completed": int(result["epochs_completed"]),
        "weights_sha256": sidecar.get("weights_sha256"),
    }


def member_config(config: dict[str, Any], index: int) -> dict[str, Any]:
    """Return the training configuration of member ``index``.

    Parameters
    ----------
    config : dict
        The ensemble's configuration (:meth:`TrainConfig.to_dict`).
    index : int
        Member index, from 0.

    Returns
    -------
    dict
        The same configuration with seed ``seed + index``.
    """
    return {**config, "seed": int(config["seed"]) + int(index)}
