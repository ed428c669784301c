"""``deepshadows finetune``: fine-tune a model on the objects of a store that a label file names.

The training is :func:`deepshadows.transfer.fine_tune` (the paper's settings by default: the whole
network, Adadelta with learning rate 0.005, batches of 16, up to 30 epochs), with early stopping
on a held-out fraction of the labels: after every epoch the validation loss is measured, and the
weights of the best epoch are kept once ``patience`` epochs have brought no improvement.

The output folder holds ``model.safetensors`` with its sidecar (``finetune`` settings added),
``finetune_history.csv`` and ``finetune.json`` (settings, sizes, validation metrics, provenance).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import atomic_path, make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.data.store import open_store
from deepshadows.errors import InputError
from deepshadows.labelling.labels import read_labels
from deepshadows.models import load_model, save_model
from deepshadows.predict.batch import predict_logits
from deepshadows.transfer.finetune import fine_tune

__all__ = ["finetune_from_labels", "rows_of_labels"]

_WRITTEN_BY_SAVE = frozenset(
    {"format_version", "architecture", "model_kwargs", "weights_file", "weights_sha256"}
)


def rows_of_labels(
    store_ids: np.ndarray, labels: dict[str, int], *, source: str = "labels"
) -> tuple[np.ndarray, np.ndarray]:
    """Return the store rows and classes of labelled ids.

    Parameters
    ----------
    store_ids : ndarray of str
        Ids of the store, by row.
    labels : dict
        Class of each labelled id.
    source : str, optional
        Name of the label file, for the error message.

    Returns
    -------
    rows : ndarray of int
        Store rows, in the order of ``labels``.
    classes : ndarray of int
        Their classes.

    Raises
    ------
    deepshadows.errors.InputError
        If an id is not in the store.
    """
    where = {str(k): i for i, k in enumerate(store_ids)}
    missing = [k for k in labels if k not in where]
    if missing:
        raise InputError(f"{source}: {len(missing)} id(s) not in the store, first {missing[0]!r}")
    rows = np.array([where[k] for k in labels], dtype=np.int64)
    return rows, np.array(list(labels.values()), dtype=np.int64)


def _split(classes: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of positions into training and validation parts."""
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == c))
        val.extend(members[: int(round(fraction * members.size))])
    val_arr = np.sort(np.array(val, dtype=np.int64))
    return np.setdiff1d(np.arange(classes.size), val_arr), val_arr


class _EarlyStopping:
    """Measure the validation loss after each epoch; keep the best weights; stop on a plateau."""

    def __init__(
        self,
        images: np.ndarray,
        classes: np.ndarray,
        patience: int,
        device: torch.device,
        progress: Callable[[dict[str, float]], object] | None,
    ) -> None:
        self.images, self.classes, self.patience, self.device = images, classes, patience, device
        self.progress = progress
        self.best = (np.inf, 0, None)

    def __call__(self, epoch: int, model: torch.nn.Module, row: dict[str, float]) -> bool:
        if len(self.images):
            logits = torch.from_numpy(predict_logits(model, self.images, device=self.device)).double()
            target = torch.from_numpy(self.classes).double()
            row["val_loss"] = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, target))
            row["val_accuracy"] = float(((logits > 0).long().numpy() == self.classes).mean())
            if row["val_loss"] < self.best[0]:
                self.best = (row["val_loss"], epoch, copy.deepcopy(model.state_dict()))
        if self.progress is not None:
            self.progress(dict(row))
        return bool(len(self.images)) and epoch - self.best[1] >= self.patience


def finetune_from_labels(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    head_only: bool = False,
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 0.005,
    val_fraction: float = 0.2,
    patience: int = 5,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
    progress: Callable[[dict[str, float]], object] | None = None,
) -> dict[str, Any]:
    """Fine-tune a model on the labelled objects of a store and save it as a new run.

    Parameters
    ----------
    model_path : path-like
        Run folder, weight file or released model name (``des``, ``hsc``) to start from.
    store_path : path-like
        Store holding the labelled cutouts.
    labels_path : path-like
        Label file (``id,label,time``; see :mod:`deepshadows.labelling.labels`).
    out_dir : path-like
        Folder of the new run.
    head_only : bool, optional
        Train the dense layers only (default: the whole network, as the paper).
    epochs, batch_size, lr : optional
        Schedule (the paper: at most 30 epochs, batches of 16, learning rate 0.005).
    val_fraction : float, optional
        Fraction of the labels held out, per class, for early stopping; 0 trains on all of
        them for ``epochs`` epochs.
    patience : int, optional
        Epochs without a lower validation loss before stopping.
    seed : int, optional
        Seed of the split, the batch order and the dropout.
    device, precision : str, optional
        Where and in which arithmetic to train.
    progress : callable, optional
        Called with each epoch's history row.

    Returns
    -------
    dict
        ``settings``, ``n_train``, ``n_val``, ``best_epoch``, ``history`` and ``out_dir``.

    Raises
    ------
    deepshadows.errors.InputError
        For an ensemble, a label id missing from the store, fewer than two labelled objects
        or bad settings.
    """
    if not 0.0 <= float(val_fraction) < 1.0:
        raise InputError(f"--val-fraction: must lie in [0, 1), got {val_fraction}")
    if int(epochs) < 1 or int(patience) < 1:
        raise InputError(f"--epochs and --patience: must be at least 1, got {epochs} and {patience}")
    labels = read_labels(labels_path)
    if len(labels) < 2:
        raise InputError(f"{labels_path}: {len(labels)} labelled object(s); fine-tuning needs at least 2")
    dev = resolve_device(device)
    mixed = resolve_precision(precision, dev)
    model, meta = load_model(model_path, device=str(dev))
    if "ensemble" in meta:
        raise InputError(f"{model_path}: is an ensemble; fine-tune one network (members/<i>)")
    with open_store(store_path) as store:
        rows, classes = rows_of_labels(store.ids, labels, source=str(labels_path))
        order = np.argsort(rows, kind="stable")
        images = np.empty((len(rows), *store.read_images(rows[:1]).shape[1:]), dtype=np.uint8)
        images[order] = store.read_images(rows[order])
    fit, val = _split(classes, float(val_fraction), seed)
    if len(np.unique(classes[fit])) < 2 or len(val) < 2:
        fit, val = np.arange(len(classes)), np.empty(0, dtype=np.int64)  # too few to hold any out
    stopper = _EarlyStopping(images[val], classes[val], int(patience), dev, progress)
    tuned, history = fine_tune(
        model,
        images[fit],
        classes[fit],
        mode="head" if head_only else "whole",
        epochs=int(epochs),
        batch_size=int(batch_size),
        lr=float(lr),
        seed=seed,
        precision=mixed,
        device=dev,
        on_epoch=stopper,
    )
    if stopper.best[2] is not None:
        tuned.load_state_dict(stopper.best[2])
    settings = {
        "source_model": str(model_path),
        "store": str(store_path),
        "labels": str(labels_path),
        "labels_sha256": hashlib.sha256(Path(labels_path).read_bytes()).hexdigest(),
        "mode": "head" if head_only else "whole",
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "val_fraction": float(val_fraction),
        "patience": int(patience),
        "seed": int(seed),
        "precision": mixed,
    }
    out = make_output_dir(out_dir)
    extra = {k: v for k, v in meta.items() if k not in _WRITTEN_BY_SAVE and k != "calibration"}
    save_model(tuned.eval(), out / "model.safetensors", metadata={**extra, "finetune": settings})
    fields = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    with atomic_path(out / "finetune_history.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(history)
    result = {
        "settings": settings,
        "n_train": int(len(fit)),
        "n_val": int(len(val)),
        "n_lsbg": int(classes.sum()),
        "best_epoch": int(stopper.best[1]) or len(history),
        "history": history,
        "out_dir": str(out),
    }
    write_json_atomic(out / "finetune.json", {**result, "provenance": provenance()})
    return result
