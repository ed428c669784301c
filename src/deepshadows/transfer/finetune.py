"""Fine-tune a trained classifier on a small labelled sample of a new survey (Section 5 of the paper)."""

from __future__ import annotations

import copy
import csv
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from deepshadows._io import atomic_path
from deepshadows.errors import InputError
from deepshadows.training.fit import TrainConfig, make_optimizer
from deepshadows.training.loop import train_one_epoch

__all__ = ["MODES", "NOT_CARRIED", "fine_tune", "write_history"]

#: Fine-tuning modes: the whole network (the paper's), or the dense layers only.
MODES = ("whole", "head")
#: Description entries a fine-tuned copy does not take from its source: those ``save_model``
#: writes for the new weights, and the calibration, which was fitted for the old ones.
NOT_CARRIED = frozenset(
    {"format_version", "architecture", "model_kwargs", "weights_file", "weights_sha256", "calibration"}
)


class _FrozenBody(nn.Module):
    """Keep a model's feature extractor in evaluation mode while the rest trains.

    Frozen layers take no gradient steps and, like Keras layers with ``trainable=False``, use
    their batch-normalisation running statistics rather than batch statistics.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def train(self, mode: bool = True) -> _FrozenBody:
        super().train(mode)
        self.model.blocks.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def fine_tune(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    mode: str = "whole",
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 0.005,
    seed: int = 0,
    precision: str = "fp32",
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, nn.Module, dict[str, float]], bool] | None = None,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """Return a fine-tuned copy of ``model`` and its per-epoch training losses.

    The paper's recipe: the whole network, Adadelta with learning rate 0.005 (the L2 penalties
    of the model kept), 30 epochs, batches of 16, shuffled every epoch. ``mode="head"`` trains
    only the dense layers (``fc`` and ``head``), the convolutional blocks frozen.

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
        Schedule.
    seed : int, optional
        Seed of the dropout and the batch order.
    precision : {"fp32", "bf16", "fp16"}, optional
        Arithmetic of the forward pass (resolved).
    device : str or torch.device, optional
        Device of the model.
    on_epoch : callable, optional
        ``on_epoch(epoch, model, row)`` after every epoch, with the model being tuned and the
        epoch's history row (to which it may add entries); a true return value stops the
        training (early stopping). It may change the weights (restore the best ones, say).

    Returns
    -------
    model : torch.nn.Module
        The fine-tuned copy, in evaluation mode.
    history : list of dict
        ``epoch``, ``loss`` and ``accuracy`` per epoch.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown mode, a model without ``blocks``/``fc``/``head`` in head mode, or an
        empty sample.
    """
    if mode not in MODES:
        raise InputError(f"--mode: choose from {', '.join(MODES)}, got {mode!r}")
    if len(images) == 0:
        raise InputError("fine-tuning sample is empty")
    dev = torch.device(device)
    tuned = copy.deepcopy(model).to(dev)
    torch.manual_seed(seed)
    cfg = TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed)
    net: nn.Module = tuned
    if mode == "head":
        if not all(hasattr(tuned, name) for name in ("blocks", "fc", "head")):
            raise InputError(f"{type(tuned).__name__}: head-only fine-tuning needs 'blocks', 'fc' and 'head'")
        for p in tuned.blocks.parameters():
            p.requires_grad_(False)
        net = _FrozenBody(tuned)
    optimizer = make_optimizer(tuned, cfg)
    if mode == "head":
        frozen = {id(p) for p in tuned.blocks.parameters()}
        for group in optimizer.param_groups:
            group["params"] = [p for p in group["params"] if id(p) not in frozen]
    history = []
    for epoch in range(1, epochs + 1):
        order = np.random.default_rng([seed, epoch]).permutation(len(images))
        batches = [
            (images[order[lo : lo + batch_size]], labels[order[lo : lo + batch_size]])
            for lo in range(0, len(order), batch_size)
        ]
        row = train_one_epoch(net, batches, optimizer, device=dev, precision=precision)
        history.append({"epoch": epoch, "loss": row["loss"], "accuracy": row["accuracy"]})
        if on_epoch is not None and on_epoch(epoch, tuned, history[-1]):
            break
    return tuned.eval(), history


def write_history(rows: Sequence[Mapping[str, float]], path: str | os.PathLike[str]) -> None:
    """Write a fine-tuning history (``epoch``, ``loss``, ``accuracy`` per epoch) as CSV, atomically.

    Parameters
    ----------
    rows : sequence of dict
        The history that :func:`fine_tune` returns.
    path : path-like
        The file (``finetune_history.csv``).
    """
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", "loss", "accuracy"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
