"""Train a model on a store: configuration, data, loop, checkpoints, logs and figures.

A run folder holds:

``config.json``
    The training configuration, the store's path and fingerprint, the model and the versions.
``history.csv``
    One row per epoch: ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``,
    ``val_accuracy``, ``seconds``, ``train_total_loss`` (data loss plus L2 penalty) and
    ``train_alignment`` (the domain-adaptation loss per step; empty without ``adapt_to``).
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

import csv
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import atomic_path, write_json_atomic
from deepshadows._provenance import package_versions, provenance
from deepshadows.data.store import open_store
from deepshadows.errors import InputError
from deepshadows.models import create_model, save_model
from deepshadows.training.batches import RunData, load_run_data, prefetch, run_batches
from deepshadows.training.checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
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

#: Columns of ``history.csv``.
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
    "train_total_loss",
    "train_alignment",
)
#: Files that make a folder a training run.
RUN_FILES: tuple[str, ...] = (
    "last.pt",
    "model.safetensors",
    "model.json",
    "history.csv",
    "config.json",
    "training_history.png",
    "calibration.json",
)
# Configuration fields that may change when a run is resumed: they do not change the result
# of the epochs already trained.
_RESUMABLE = frozenset({"epochs", "patience", "device", "num_workers", "calibration"})
_EVAL_BATCH = 256


def _run_paths(out: Path) -> dict[str, Path]:
    return {
        "run": out,
        "model": out / "model.safetensors",
        "model_json": out / "model.json",
        "checkpoint": out / "last.pt",
        "history": out / "history.csv",
        "plot": out / "training_history.png",
        "config": out / "config.json",
        "calibration": out / "calibration.json",
    }


def _check_resumable(state: Mapping[str, Any], cfg: TrainConfig, fingerprint: str, path: Path) -> None:
    hint = "pass --overwrite to start a new run in this folder"
    old, new = dict(state.get("config") or {}), cfg.to_dict()
    differ = sorted(k for k in old.keys() | new.keys() if k not in _RESUMABLE and old.get(k) != new.get(k))
    if differ:
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise InputError(
            f"{path}: cannot resume, the run was started with a different configuration ({detail}); {hint}"
        )
    if state.get("store_fingerprint") != fingerprint:
        raise InputError(f"{path}: cannot resume, the run was trained on a different data store; {hint}")


def _prepare_run(
    out: Path, cfg: TrainConfig, fingerprint: str, *, resume: bool, overwrite: bool
) -> dict[str, Any] | None:
    """Check the run folder and return the checkpoint to resume from, if any."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    present = [name for name in RUN_FILES if (out / name).exists()]
    checkpoint = out / "last.pt"
    if resume:
        if checkpoint.exists():
            state = load_checkpoint(checkpoint)
            _check_resumable(state, cfg, fingerprint, checkpoint)
            return state
        if present:
            raise InputError(
                f"{out}: no last.pt to resume from ({', '.join(present)} present); "
                "pass --overwrite to start a new run in this folder"
            )
    elif present:
        if not overwrite:
            raise InputError(
                f"{out}: folder already holds a training run ({', '.join(present)}); "
                "pass --resume to continue it or --overwrite to replace it"
            )
        for name in present:
            (out / name).unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the run folder ({exc.strerror})") from exc
    if not os.access(out, os.W_OK):
        raise InputError(f"{out}: run folder is not writable")
    return None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order of one epoch: the same in a resumed run as in a straight one."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


@dataclass
class _Run:
    """Mutable state of a run: what ``last.pt`` saves besides the model and optimizer."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf

    @property
    def epoch(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    def record(self, row: dict[str, Any]) -> bool:
        """Append an epoch's row and return whether it is the new best."""
        self.history.append(row)
        # The first epoch is always kept, so a run whose validation loss is NaN still has weights,
        # and a finite loss replaces a NaN one.
        best = self.best_val_loss
        if self.best_epoch == 0 or row["val_loss"] < best or math.isnan(best):
            self.best_epoch, self.best_val_loss = int(row["epoch"]), float(row["val_loss"])
            return True
        return False

    def patience_spent(self, patience: int | None) -> bool:
        return patience is not None and self.epoch > 0 and self.epoch - self.best_epoch >= patience


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
    bar = tqdm(
        batches,
        total=math.ceil(data.splits["train"].size / cfg.batch_size),
        desc=f"epoch {epoch}/{cfg.epochs}",
        unit="batch",
        disable=not progress,
        leave=False,
    )
    try:
        train = train_one_epoch(
            model,
            bar,
            optimizer,
            device=device,
            precision=precision,
            scaler=scaler,
            alignment_weight=cfg.adapt_weight * _warmup(epoch, cfg.adapt_warmup),
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
    }


def _restore(
    state: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> _Run:
    model.load_state_dict(state["model"])
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise InputError(
            f"cannot resume: the checkpoint's optimizer state does not fit this version's optimizer "
            f"({exc}); pass --overwrite to start a new run"
        ) from exc
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return _Run(
        [dict(row) for row in state["history"]], int(state["best_epoch"]), float(state["best_val_loss"])
    )


def _model_metadata(cfg: TrainConfig, data: RunData, precision: str) -> dict[str, Any]:
    """Sidecar entries of the saved weights, besides the metrics of the kept epoch."""
    return {
        "config": cfg.to_dict(),
        "trained_precision": precision,
        "store": {"path": data.path, "fingerprint": data.fingerprint},
        "selection": None if data.selection is None else data.selection.description,
        "versions": package_versions(),
        "class_names": list(class_names(cfg.num_classes)),
        "threshold": 0.5 if cfg.num_classes == 1 else None,
        "preprocessing": {
            "input_shape": [int(s) for s in data.shape],
            "source_dtype": "uint8",
            "scale": 1 / 255,
            "layout": "NCHW, channels in the store's order",
        },
    }


def _write_config(
    path: Path, cfg: TrainConfig, data: RunData, model: torch.nn.Module, resumed: int | None, precision: str
) -> None:
    write_json_atomic(
        path,
        {
            "train": cfg.to_dict(),
            "precision": precision,
            "store": {
                "path": data.path,
                "fingerprint": data.fingerprint,
                "n_train": int(data.splits["train"].size),
                "n_val": int(data.splits["val"].size),
            },
            "selection": None if data.selection is None else data.selection.description,
            "model": {"architecture": model.architecture, "model_kwargs": model.model_kwargs},
            "class_names": list(class_names(cfg.num_classes)),
            "resumed_from_epoch": resumed,
            "provenance": provenance(),
        },
    )


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})


def _calibrate(
    paths: Mapping[str, Path], data: RunData, cfg: TrainConfig, device: torch.device
) -> tuple[str, Any]:
    """Fit the calibration of the kept weights on the validation split; return a line and it.

    A validation split that cannot be calibrated (one class only) is reported, not raised:
    the trained weights stand without a calibration.
    """
    from deepshadows.calibration import calibration_path, fit_calibration, write_calibration
    from deepshadows.models import load_model
    from deepshadows.predict.batch import predict_logits

    model, meta = load_model(paths["model"], device=device)
    logits, targets = [], []
    for images, y in run_batches(data, "val", batch_size=max(cfg.batch_size, _EVAL_BATCH)):
        logits.append(predict_logits(model, images, device=device, batch_size=_EVAL_BATCH))
        targets.append(np.asarray(y))
    try:
        calibration = fit_calibration(
            np.concatenate(logits),
            np.concatenate(targets).astype(np.int64),
            method=cfg.calibration,
            split="val",
            store={"path": data.path, "fingerprint": data.fingerprint},
            weights_sha256=meta.get("weights_sha256"),
        )
    except InputError as exc:
        paths["calibration"].unlink(missing_ok=True)
        return f"no calibration: {exc}", None
    write_calibration(calibration, calibration_path(paths["model"]))
    return calibration.describe(), calibration


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
    takes one Adadelta step per batch on the data loss plus the model's L2 penalty, measures
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
