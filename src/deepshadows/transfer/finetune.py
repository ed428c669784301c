"""Fine-tune a trained classifier on a small labelled sample of a new survey (Section 5 of the paper).

The training itself is :func:`deepshadows.finetuning.fine_tune`; this module keeps the
interface of the paper's transfer experiment (a mode and a schedule) on top of a recipe.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from deepshadows._io import atomic_path
from deepshadows.errors import InputError
from deepshadows.finetuning import RECIPES, Recipe
from deepshadows.finetuning import fine_tune as _fine_tune

__all__ = ["MODES", "NOT_CARRIED", "fine_tune", "recipe_for", "write_history"]

#: Fine-tuning modes: the whole network (the paper's), or the dense layers only.
MODES = ("whole", "head")
#: Description entries a fine-tuned copy does not take from its source: those ``save_model``
#: writes for the new weights, and the calibration, which was fitted for the old ones.
NOT_CARRIED = frozenset(
    {"format_version", "architecture", "model_kwargs", "weights_file", "weights_sha256", "calibration"}
)


def recipe_for(
    recipe: Recipe | None,
    *,
    mode: str = "whole",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
) -> Recipe:
    """Return ``recipe`` (the paper's when None) with a mode and schedule applied.

    Parameters
    ----------
    recipe : Recipe or None
        The base recipe.
    mode : {"whole", "head"}, optional
        ``head`` freezes every stage of the feature extractor.
    epochs, batch_size, lr : optional
        Replace the recipe's values when given.

    Returns
    -------
    Recipe
        The base recipe with the given values replaced and, in ``head`` mode, every stage frozen.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown mode or a bad value.
    """
    if mode not in MODES:
        raise InputError(f"--mode: choose from {', '.join(MODES)}, got {mode!r}")
    base = RECIPES["paper"] if recipe is None else recipe
    return base.replace(epochs=epochs, batch_size=batch_size, lr=lr, freeze=-1 if mode == "head" else None)


def fine_tune(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    mode: str = "whole",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    recipe: Recipe | None = None,
    seed: int = 0,
    precision: str = "fp32",
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, nn.Module, dict[str, float]], bool] | None = None,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """Return a fine-tuned copy of ``model`` and its per-epoch training losses.

    By default the paper's recipe: the whole network, Adadelta with learning rate 0.005 (the
    L2 penalties of the model kept), 30 epochs, batches of 16, shuffled every epoch.
    ``mode="head"`` trains only the dense layers, the feature extractor frozen (its batch
    normalisation in evaluation mode, as Keras layers with ``trainable=False``).

    Parameters
    ----------
    model : torch.nn.Module
        Trained classifier (left unchanged).
    images : ndarray of shape (N, H, W, C), uint8
        Fine-tuning cutouts.
    labels : ndarray of shape (N,)
        Targets (1 = LSBG, 0 = artifact; class indices for several classes).
    mode : {"whole", "head"}, optional
        What is trained.
    epochs, batch_size, lr : optional
        Schedule (the recipe's when None).
    recipe : Recipe, optional
        The recipe (:mod:`deepshadows.finetuning.recipe`); the paper's when None.
    seed : int, optional
        Seed of the dropout, the batch order and the augmentation.
    precision : {"fp32", "bf16", "fp16"}, optional
        Arithmetic of the forward pass (resolved).
    device : str or torch.device, optional
        Device of the model.
    on_epoch : callable, optional
        ``on_epoch(epoch, model, row)`` after every epoch; a true return value stops the
        training (early stopping). It may change the weights (restore the best ones, say).

    Returns
    -------
    model : torch.nn.Module
        The fine-tuned copy, in evaluation mode.
    history : list of dict
        ``epoch``, ``loss``, ``accuracy`` and ``lr`` per epoch.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown mode, a model without ``blocks`` in head mode, or an empty sample.
    """
    if len(images) == 0:
        raise InputError("fine-tuning sample is empty")
    chosen = recipe_for(recipe, mode=mode, epochs=epochs, batch_size=batch_size, lr=lr)
    return _fine_tune(
        model, images, labels, chosen, seed=seed, device=device, precision=precision, on_epoch=on_epoch
    )


def write_history(rows: Sequence[Mapping[str, float]], path: str | os.PathLike[str]) -> None:
    """Write a fine-tuning history (one row per epoch, every column it has) as CSV, atomically.

    Parameters
    ----------
    rows : sequence of dict
        The history that :func:`fine_tune` returns.
    path : path-like
        The file (``finetune_history.csv``).
    """
    fields: list[str] = ["epoch", "loss", "accuracy"]
    for row in rows:
        fields += [k for k in row if k not in fields]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
