"""Train a model on a store: configuration, data, loop, checkpoints, logs and figures.

A run folder holds:

``config.json``
    The training configuration, the store's path and fingerprint, the model and the versions.
``history.csv``
    One row per epoch: ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``,
    ``val_accuracy``, ``seconds``, ``train_total_loss`` (data loss plus L2 penalty) and
    ``train_alignment`` (the domain-adaptation loss per step; empty without ``adapt_to``),
    ``train_unlabelled_loss`` and ``train_confident_fraction`` (semi-supervised training;
    empty without ``unlabelled``).
``training_history.png``
    Accuracy and loss against epoch (as Fig. 3 of the paper).
``model.safetensors``, ``model.json``
    Weights and description of the epoch with the lowest validation loss.
``last.pt``
    Checkpoint of the last completed epoch, to resume from.
``calibration.json``
    The calibration of the kept weights fitted on the validation split after the last epoch
    (``cfg.calibration``; see :mod:`deepshadows.calibration`), with the completeness and
    purity of the decision thresholds there.

Losses in the history are the data losses (binary cross-entropy, or cross-entropy for several
classes) averaged over images; the L2 penalty, which Keras would fold into both its ``loss`` and
``val_loss``, is reported separately so that the curves and the choice of the best epoch measure
the fit to the data alone.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from deepshadows._device import resolve_device, resolve_precision
from deepshadows.errors import InputError
from deepshadows.models import create_model, save_model
from deepshadows.store.reader import open_store
from deepshadows.training.batches import _EVAL_BATCH, RunData, load_run_data, prefetch, run_batches
from deepshadows.training.calibrate import _calibrate
from deepshadows.training.checkpoint import get_rng_state, save_checkpoint
from deepshadows.training.config import (
    BINARY_CLASS_NAMES,
    THREE_CLASS_NAMES,
    TrainConfig,
    class_names,
    make_optimizer,
    store_targets,
)
from deepshadows.training.domain import DomainTools
from deepshadows.training.loop import evaluate_loss, train_one_epoch
from deepshadows.training.plots import plot_history
from deepshadows.training.resume import _prepare_run, _restore, _Run
from deepshadows.training.run_files import (
    HISTORY_COLUMNS,
    RUN_FILES,
    _model_metadata,
    _run_paths,
    _write_config,
    _write_history,
)
from deepshadows.training.schedule import scheduled
from deepshadows.training.selection import RowSelection

__all__ = [
    "BINARY_CLASS_NAMES",
    "HISTORY_COLUMNS",
    "RUN_FILES",
    "THREE_CLASS_NAMES",
    "TrainConfig",
    "class_names",
    "fit",
    "make_optimizer",
    "store_targets",
]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order of one epoch: the same in a resumed run as in a straight one."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


def _warmup(epoch: int, epochs: int) -> float:
    """Factor of the alignment weight in ``epoch`` (from 1): 0 at first, 1 after ``epochs``."""
    return 1.0 if epochs == 0 else min(1.0, (epoch - 1) / epochs)


def _train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    data: RunData,
    cfg: TrainConfig,
    *,
    epoch: int,
    device: torch.device,
    precision: str,
    progress: bool,
    tools: DomainTools,
) -> dict[str, Any]:
    """Train one epoch and validate; return the epoch's row of the history."""
    t0 = time.perf_counter()
    seed = _epoch_seed(cfg.seed, epoch)
    tools.start_epoch(seed)
    batches = prefetch(
        tools.augment(run_batches(data, "train", batch_size=cfg.batch_size, seed=seed)), cfg.num_workers
    )
    steps = math.ceil(data.splits["train"].size / cfg.batch_size)
    bar = tqdm(
        batches,
        total=steps,
        desc=f"epoch {epoch}/{cfg.epochs}",
        unit="batch",
        disable=not progress,
        leave=False,
    )
    stepped = bar
    if cfg.schedule != "constant":
        stepped = scheduled(
            bar,
            optimizer,
            peak_lr=cfg.lr,
            first_step=(epoch - 1) * steps,
            total=cfg.epochs * steps,
            schedule=cfg.schedule,
            warmup=cfg.warmup_epochs * steps,
        )
    try:
        train = train_one_epoch(
            model,
            stepped,
            optimizer,
            device=device,
            precision=precision,
            scaler=scaler,
            alignment_weight=cfg.adapt_weight * _warmup(epoch, cfg.adapt_warmup),
            unlabelled_weight=cfg.unlabelled_weight,
            confidence=cfg.confidence,
            **tools.loop_arguments(cfg.batch_size),
        )
    finally:
        bar.close()
        batches.close()  # stops a read-ahead thread at once if training failed
    val_batches = run_batches(data, "val", batch_size=max(cfg.batch_size, _EVAL_BATCH))
    val = evaluate_loss(model, val_batches, device=device, precision=precision)
    return {
        "epoch": epoch,
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "seconds": time.perf_counter() - t0,
        "train_total_loss": train["total_loss"],
        **({"train_alignment": train["alignment"]} if "alignment" in train else {}),
        **{f"train_{k}": train[k] for k in ("unlabelled_loss", "confident_fraction") if k in train},
    }


def _epoch_line(row: Mapping[str, Any], epochs: int, best: bool) -> str:
    return (
        f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}  "
        f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.3f}  "
        f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.3f}  "
        f"{row['seconds']:.1f} s{'  *best' if best else ''}"
    )


def fit(
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    cfg: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], object] | None = None,
    selection: RowSelection | None = None,
) -> dict[str, Any]:
    """Train ``cfg.model`` on the train split of a store, validating on its val split.

    Every epoch draws the training batches in a shuffled order seeded by ``(cfg.seed, epoch)``,
    takes one optimizer step per batch (``cfg.optimizer``: Adadelta on the data loss plus the
    model's L2 penalty, as the paper; or AdamW, the learning rate following ``cfg.schedule``), measures
    loss and accuracy on the validation split in evaluation mode, keeps the weights of the
    epoch with the lowest validation loss (``model.safetensors``), and writes ``last.pt`` and
    ``history.csv``; ``training_history.png`` is drawn at the end, and the kept weights are
    calibrated on the validation split (``cfg.calibration``, written to ``calibration.json``).
    A run resumed from ``last.pt`` on the CPU ends with exactly the weights of an
    uninterrupted one.

    Parameters
    ----------
    store_path : path-like
        Data store with labelled ``train`` and ``val`` splits.
    out_dir : path-like
        Run folder (created if needed).
    cfg : TrainConfig
        Training configuration.
    resume : bool, optional
        Continue the run in ``out_dir`` from its ``last.pt`` up to ``cfg.epochs``. Only
        ``epochs``, ``patience``, ``device`` and ``num_workers`` may differ from the original
        configuration. Without a ``last.pt`` (and no other run files) a new run starts.
    overwrite : bool, optional
        Replace a run already in ``out_dir``.
    progress : bool, optional
        Show a progress bar per epoch.
    log : callable, optional
        Called with one line of text at the start and after every epoch (e.g. ``print``).
    selection : RowSelection, optional
        Train and validate on these rows (and targets) instead of the store's ``train`` and
        ``val`` splits and labels; a resumed run must be given the same selection.

    Returns
    -------
    dict
        ``best_epoch``, ``best_val_loss``, ``history`` (one dict per epoch, the rows of
        ``history.csv``), ``epochs_completed``, ``stopped_early``, ``calibration`` (the
        :class:`~deepshadows.calibration.Calibration` written, or None when the validation
        split could not be calibrated) and ``paths`` (``run``, ``model``, ``model_json``,
        ``checkpoint``, ``history``, ``plot``, ``config``, ``calibration``).

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid configuration, an unreadable store, an empty or unlabelled train or val
        split, an existing run without ``resume`` or ``overwrite``, a run to resume that was
        started with a different configuration or store, or an unavailable device.
    """
    cfg = cfg.validate()
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other; choose one")
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    paths = _run_paths(Path(out_dir))
    emit = log if log is not None else (lambda _line: None)
    with open_store(store_path) as store:
        data = load_run_data(store, store_path, cfg.num_classes, selection)
        state = _prepare_run(paths["run"], cfg, data.fingerprint, resume=resume, overwrite=overwrite)
        _seed_everything(cfg.seed)
        chans, size, _ = data.shape
        tools = DomainTools.for_run(cfg, (size, size, chans))
        model = create_model(cfg.model, num_classes=cfg.num_classes, in_chans=chans, image_size=size)
        model = model.to(device, memory_format=torch.channels_last)
        optimizer = make_optimizer(model, cfg)
        scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        run = _Run() if state is None else _restore(state, model, optimizer, scaler)
        metadata = _model_metadata(cfg, data, precision)
        _write_config(paths["config"], cfg, data, model, None if state is None else run.epoch, precision)
        resumed = f", resuming after epoch {run.epoch}" if state is not None else ""
        emit(
            f"training {cfg.model} on {data.splits['train'].size} cutouts, validating on "
            f"{data.splits['val'].size}, device {device}, precision {precision}{resumed}"
        )
        stopped = run.patience_spent(cfg.patience)
        while not stopped and run.epoch < cfg.epochs:
            row = _train_epoch(
                model,
                optimizer,
                scaler,
                data,
                cfg,
                epoch=run.epoch + 1,
                device=device,
                precision=precision,
                progress=progress,
                tools=tools,
            )
            if run.record(row):
                metrics = {k: row[k] for k in HISTORY_COLUMNS if k != "seconds" and k in row}
                save_model(model, paths["model"], metadata={**metadata, "metrics": metrics})
            save_checkpoint(
                paths["checkpoint"],
                {
                    "epoch": run.epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "history": run.history,
                    "best_epoch": run.best_epoch,
                    "best_val_loss": run.best_val_loss,
                    "rng": get_rng_state(),
                    "config": cfg.to_dict(),
                    "store_fingerprint": data.fingerprint,
                },
            )
            _write_history(paths["history"], run.history)
            emit(_epoch_line(row, cfg.epochs, run.best_epoch == run.epoch))
            stopped = run.patience_spent(cfg.patience)
            if stopped and run.epoch < cfg.epochs:
                emit(f"stopping early: no lower validation loss for {cfg.patience} epochs")
        calibration = None
        if paths["model"].exists():
            line, calibration = _calibrate(paths, data, cfg, device)
            emit(line)
    _write_history(paths["history"], run.history)
    plot_history(run.history, paths["plot"], best_epoch=run.best_epoch or None, title=cfg.model)
    return {
        "best_epoch": run.best_epoch,
        "best_val_loss": run.best_val_loss,
        "history": run.history,
        "epochs_completed": run.epoch,
        "stopped_early": stopped and run.epoch < cfg.epochs,
        "calibration": calibration,
        "paths": paths,
    }
