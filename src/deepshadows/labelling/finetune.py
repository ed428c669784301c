"""``deepshadows finetune``: fine-tune a model on a user's labelled cutouts (and unlabelled sky).

The labels come from a labelled store, a store with a label table (an ``id,label`` CSV, ECSV or
FITS table, the labelling page's file, or a catalogue matched by ra/dec), or an ``.npz`` of
cutouts and labels (:func:`deepshadows.data.labelled_sample.load_labelled_sample`). The training
is :func:`deepshadows.finetuning.fine_tune` with the architecture's recipe (AdamW with warm-up and
cosine decay, the training augmentations and class balance for the compact ResNet; the paper's
Adadelta recipe for Table 1), optionally replaying simulated cutouts and learning from the
user's unlabelled cutouts (FixMatch).

Before the final fine-tuning on every label, a stratified K-fold cross-validation (``cv``
folds, the same recipe) estimates how the fine-tuned model will do on more cutouts of the same
sky, beside the starting model's score on the same labels: the epochs are the recipe's, not
chosen on a validation split of a few hundred labels. ``val_fraction > 0`` holds out a part for
early stopping instead, as before.

The output folder holds ``model.safetensors`` with its sidecar (``finetune`` settings added),
``finetune_history.csv``, ``finetune.json`` (settings, recipe, sizes, the starting model's
score, the cross-validated estimate, provenance) and, while running, ``finetune_checkpoint.pt``,
from which ``resume=True`` continues exactly (runs without early stopping).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import check_at_least_one, make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.data.labelled_sample import load_labelled_sample
from deepshadows.errors import InputError
from deepshadows.finetuning import (
    Recipe,
    UnlabelledPool,
    cross_validate,
    default_recipe,
    fine_tune,
    get_recipe,
    load_replay,
)
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models import load_model, save_model
from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.transfer.finetune import NOT_CARRIED, write_history

__all__ = ["finetune_from_labels"]

CHECKPOINT = "finetune_checkpoint.pt"
#: The cross-validated estimate, kept while the final fine-tuning runs so that a resumed run
#: does not cross-validate again.
CV_DONE = "finetune_cv.partial.json"


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
        self.best: tuple[float, int, dict[str, Any] | None] = (np.inf, 0, None)

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


def _scores(labels: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    keep = ("accuracy", "completeness", "purity", "auc")
    return {k: float(v) for k, v in binary_metrics(labels, prob).items() if k in keep}


def _sha256(path: str | os.PathLike[str] | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _choose_recipe(
    recipe: str | Recipe | None, architecture: str | None, changes: Mapping[str, Any], head_only: bool
) -> Recipe:
    base = get_recipe(recipe) if isinstance(recipe, str) else recipe
    chosen = (base or default_recipe(architecture)).replace(**dict(changes))
    return chosen.replace(freeze=-1) if head_only else chosen


def finetune_from_labels(
    model_path: str | os.PathLike[str],
    data_path: str | os.PathLike[str] | None,
    labels_path: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    *,
    recipe: str | Recipe | None = None,
    head_only: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    recipe_changes: Mapping[str, Any] | None = None,
    match_radius_arcsec: float | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    replay: str | os.PathLike[str] | None = None,
    unlabelled: str | os.PathLike[str] | None = None,
    cv: int = 5,
    val_fraction: float = 0.0,
    patience: int = 5,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
    resume: bool = False,
    progress: Callable[[dict[str, float]], object] | None = None,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Fine-tune a model on a user's labelled cutouts and save it as a new run.

    Parameters
    ----------
    model_path : path-like
        Run folder, weight file or released model name (``des``, ``ls-dr10``) to start from.
    data_path : path-like or None
        A store (its labelled rows, or the rows ``labels_path`` names) or an ``.npz`` of cutouts
        and labels; None for the zero-label case (``replay`` and ``unlabelled`` only).
    labels_path : path-like or None
        A label table (see :func:`deepshadows.data.label_tables.read_label_table`).
    out_dir : path-like
        Folder of the new run.
    recipe : str or Recipe, optional
        The recipe (by name: ``paper``, ``adamw``); by default the architecture's.
    head_only : bool, optional
        Train the dense layers only (every stage frozen).
    epochs, batch_size, lr : int, int, float, optional
        Replace the recipe's values.
    recipe_changes : mapping, optional
        Other recipe fields to change (None values ignored).
    match_radius_arcsec : float, optional
        Match the label table to the store by ra/dec within this radius instead of by id.
    id_column, label_column : str, optional
        Columns of the label table (found by name when not given).
    replay : path-like, optional
        A simulated store whose training rows are replayed beside the labels.
    unlabelled : path-like, optional
        A store of unlabelled cutouts of the same sky (semi-supervised, FixMatch).
    cv : int, optional
        Folds of the cross-validated estimate (0 or 1: none).
    val_fraction : float, optional
        Fraction of the labels held out per class for early stopping (0: train on all of
        them for the recipe's epochs).
    patience : int, optional
        Epochs without a lower validation loss before stopping (with ``val_fraction``).
    seed : int, optional
        Seed of the folds, the split, the batch order, the augmentation and the dropout.
    device, precision : str, optional
        Where and in which arithmetic to train.
    resume : bool, optional
        Continue an interrupted run from its checkpoint (same settings).
    progress : callable, optional
        Called with each epoch's history row.
    log : callable, optional
        Called with one line per step of the command.

    Returns
    -------
    dict
        ``settings``, ``recipe``, ``n_train``, ``n_val``, ``n_lsbg``, ``best_epoch``,
        ``before`` (the starting model on the labels), ``cv`` (summary or None), ``history``
        and ``out_dir``.

    Raises
    ------
    deepshadows.errors.InputError
        For an ensemble, labels that cannot be read or matched, fewer than two labelled
        objects without unlabelled or replay data, or bad settings.
    """
    emit = log if log is not None else (lambda _line: None)
    if not 0.0 <= float(val_fraction) < 1.0:
        raise InputError(f"--val-fraction: must lie in [0, 1), got {val_fraction}")
    check_at_least_one(patience, "--patience")
    if resume and float(val_fraction) > 0:
        raise InputError(
            "--resume: continues runs without early stopping only (--val-fraction 0); "
            "the early-stopping state is not kept in the checkpoint"
        )
    if epochs is not None:
        check_at_least_one(epochs, "--epochs")
    dev = resolve_device(device)
    mixed = resolve_precision(precision, dev)
    model, meta = load_model(model_path, device=str(dev))
    if "ensemble" in meta:
        raise InputError(f"{model_path}: is an ensemble; fine-tune one network (members/<i>)")
    changes = {**dict(recipe_changes or {}), "epochs": epochs, "batch_size": batch_size, "lr": lr}
    chosen = _choose_recipe(recipe, meta.get("architecture"), changes, head_only)
    if data_path is not None:
        sample = load_labelled_sample(
            data_path,
            labels_path,
            match_radius_arcsec=match_radius_arcsec,
            id_column=id_column,
            label_column=label_column,
        )
    elif labels_path is not None:
        raise InputError("--labels: give the cutouts they label with --data")
    else:
        sample = None
    images = sample.images if sample is not None else np.zeros((0, 64, 64, 3), dtype=np.uint8)
    classes = sample.labels if sample is not None else np.zeros(0, dtype=np.int64)
    if len(classes) < 2 and replay is None and unlabelled is None:
        raise InputError(
            f"{labels_path or data_path}: {len(classes)} labelled object(s); fine-tuning needs at least 2"
        )
    replayed = load_replay(replay, seed=seed) if replay is not None else None
    pool = UnlabelledPool(unlabelled) if unlabelled is not None else None
    if replayed is not None:
        emit(f"replaying {len(replayed[1])} simulated cutouts of {replay}")
    if pool is not None:
        emit(f"semi-supervised on {pool.describe()}")

    before = None
    if len(classes) and len(np.unique(classes)) == 2:
        before = _scores(classes, logits_to_probabilities(predict_logits(model, images, device=dev)))
        emit(
            f"the starting model on your {len(classes)} labels: accuracy {before['accuracy']:.3f}, "
            f"AUC {before['auc']:.3f}"
        )
    cv_summary = None
    n_small = int(np.bincount(classes, minlength=2).min()) if len(classes) else 0
    done = Path(out_dir) / CV_DONE
    if resume and done.is_file() and (Path(out_dir) / CHECKPOINT).is_file():
        cv_summary = json.loads(done.read_text(encoding="utf-8"))  # measured before the interruption
        emit(
            f"cross-validated estimate ({cv} folds, from before the interruption): "
            f"accuracy {cv_summary['accuracy']['mean']:.3f}, AUC {cv_summary['auc']['mean']:.3f}"
        )
    elif int(cv) >= 2 and n_small >= int(cv):
        emit(f"cross-validating the recipe ({cv} folds, seed {seed}) ...")
        result = cross_validate(
            model,
            images,
            classes,
            chosen,
            k=int(cv),
            seeds=[int(seed)],
            replay=replayed,
            unlabelled=pool,
            device=dev,
            precision=mixed,
            progress=emit,
        )
        cv_summary = result.summary()["all"]
        write_json_atomic(make_output_dir(out_dir) / CV_DONE, cv_summary)
        emit(
            f"cross-validated estimate ({cv} folds): accuracy {cv_summary['accuracy']['mean']:.3f}, "
            f"AUC {cv_summary['auc']['mean']:.3f}"
        )
    elif int(cv) >= 2 and len(classes):
        emit(f"no cross-validation: the smaller class has {n_small} labels, fewer than --cv {cv}")

    fit, val = _split(classes, float(val_fraction), seed)
    if len(classes) and (len(np.unique(classes[fit])) < 2 or len(val) < 2):
        fit, val = np.arange(len(classes)), np.empty(0, dtype=np.int64)  # too few to hold any out
    out = make_output_dir(out_dir)
    stopper = _EarlyStopping(images[val], classes[val], int(patience), dev, progress)
    emit(f"fine-tuning on {len(fit)} labels (recipe {chosen.name}, {chosen.epochs} epochs)")
    tuned, history = fine_tune(
        model,
        images[fit],
        classes[fit],
        chosen,
        seed=seed,
        replay=replayed,
        unlabelled=pool,
        device=dev,
        precision=mixed,
        on_epoch=stopper,
        checkpoint=out / CHECKPOINT,
        resume=resume,
    )
    if stopper.best[2] is not None:
        tuned.load_state_dict(stopper.best[2])
    settings = {
        "source_model": str(model_path),
        "data": None if data_path is None else str(data_path),
        "labels": None if labels_path is None else str(labels_path),
        "labels_sha256": _sha256(labels_path),
        "match_radius_arcsec": match_radius_arcsec,
        "replay": None if replay is None else str(replay),
        "unlabelled": None if unlabelled is None else str(unlabelled),
        "mode": "head" if chosen.freeze == -1 else "whole",
        "recipe": chosen.to_dict(),
        "epochs": chosen.epochs,
        "batch_size": chosen.batch_size,
        "lr": chosen.lr,
        "cv": int(cv),
        "val_fraction": float(val_fraction),
        "patience": int(patience),
        "seed": int(seed),
        "precision": mixed,
    }
    extra = {k: v for k, v in meta.items() if k not in NOT_CARRIED}
    save_model(tuned.eval(), out / "model.safetensors", metadata={**extra, "finetune": settings})
    write_history(history, out / "finetune_history.csv")
    result = {
        "settings": settings,
        "recipe": chosen.name,
        "n_train": int(len(fit)),
        "n_val": int(len(val)),
        "n_lsbg": int(classes.sum()),
        "best_epoch": int(stopper.best[1]) or len(history),
        "before": before,
        "cv": cv_summary,
        "history": history,
        "out_dir": str(out),
    }
    write_json_atomic(out / "finetune.json", {**result, "provenance": provenance()})
    (out / CHECKPOINT).unlink(missing_ok=True)
    (out / CV_DONE).unlink(missing_ok=True)
    return result
