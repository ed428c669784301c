"""Fine-tune a trained network on a labelled sample, with optional replay and unlabelled cutouts.

Each step trains on a batch of labelled cutouts (augmented as the recipe says), optionally
joined by replayed simulated cutouts, and optionally adds FixMatch's consistency loss on
unlabelled cutouts (Sohn et al. 2020): the network's prediction for a weakly augmented view
(flips, rotations, a small shift) becomes a pseudo-label where it is confident (probability of
its class at least ``recipe.confidence``), and the network is trained to give that label to a
strongly augmented view of the same cutout (the rendering augmentations turned up). The three
parts go through the network in one forward pass, sharing their batch statistics.

The learning rate of every step is a function of the step alone (warm-up, cosine decay, each
parameter group's ``lr_scale``), and every random draw of an epoch comes from generators seeded
by ``(seed, epoch)``; a run resumed from its checkpoint (written after every epoch) therefore
ends with the same weights as one that ran straight through.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deepshadows._device import autocast
from deepshadows.augment import Augmenter
from deepshadows.errors import InputError
from deepshadows.finetuning.augmentations import STRONG, WEAK, augmentation
from deepshadows.finetuning.groups import frozen_stages, make_finetune_optimizer
from deepshadows.finetuning.recipe import Recipe
from deepshadows.finetuning.streams import UnlabelledPool, labelled_order
from deepshadows.models.preprocess import as_network_input
from deepshadows.training.checkpoint import load_checkpoint, save_checkpoint
from deepshadows.training.loop import batch_loss, consistency_loss
from deepshadows.training.schedule import lr_factor

__all__ = ["fine_tune", "recalibrate_batch_norm"]

EpochHook = Callable[[int, nn.Module, dict[str, float]], bool]


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return int(np.random.default_rng([seed, epoch, stream]).integers(2**62))


def _squeeze(logits: torch.Tensor) -> torch.Tensor:
    return logits.squeeze(1) if logits.ndim == 2 and logits.shape[1] == 1 else logits


def _penalty(model: nn.Module, optimizer: torch.optim.Optimizer, like: torch.Tensor) -> torch.Tensor:
    """Return the model's L2 penalty, or zero where the optimizer folds it in (the paper's Adadelta)."""
    penalty = getattr(model, "l2_penalty", None)
    if bool(getattr(optimizer, "folds_l2_penalty", False)) or not callable(penalty):
        return like.new_zeros(())
    return penalty()


class _Run:
    """The state of one fine-tuning: data, recipe, model, optimizer and the epoch loop."""

    def __init__(
        self,
        model: nn.Module,
        images: np.ndarray,
        labels: np.ndarray,
        recipe: Recipe,
        *,
        seed: int,
        replay: tuple[np.ndarray, np.ndarray] | None,
        unlabelled: UnlabelledPool | None,
        device: torch.device,
        precision: str,
    ) -> None:
        self.model, self.images, self.labels, self.recipe = model, images, labels, recipe
        self.seed, self.replay, self.unlabelled = int(seed), replay, unlabelled
        self.device, self.precision = device, precision
        self.frozen = frozen_stages(model, recipe)
        self.optimizer = make_finetune_optimizer(model, recipe)
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        b = recipe.batch_size
        self.n_replay = 0
        if replay is not None:
            share = recipe.replay_fraction
            self.n_replay = b if len(images) == 0 else int(round(b * share / (1 - share)))
        self.n_unlabelled = recipe.unlabelled_ratio * b if unlabelled is not None else 0
        steps = -(-len(images) // b)
        if replay is not None or unlabelled is not None:
            steps = max(steps, recipe.min_steps)
        self.steps = steps
        self.total = steps * recipe.epochs
        self.warmup = int(round(recipe.warmup_epochs * steps))
        config = augmentation(recipe.augment)
        self.augment = Augmenter(config) if config is not None else None
        self.weak, self.strong = Augmenter(WEAK), Augmenter(STRONG)

    def _prepare(self, x: np.ndarray, augmenter: Augmenter | None) -> torch.Tensor:
        if augmenter is None:
            return as_network_input(x, self.device)
        return augmenter(x).to(self.device, non_blocking=True)

    def _set_lr(self, step: int) -> float:
        r = self.recipe
        factor = lr_factor(step, self.total, schedule=r.schedule, warmup=self.warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = r.lr * factor * group.get("lr_scale", 1.0)
        return r.lr * factor

    def epoch(self, epoch: int) -> dict[str, float]:
        r, b = self.recipe, self.recipe.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        torch.manual_seed(_epoch_seed(self.seed, epoch, 0))
        for k, aug in enumerate((self.augment, self.weak, self.strong), start=1):
            if aug is not None:
                aug.reseed(_epoch_seed(self.seed, epoch, k))
        n_lab = len(self.images)
        plain = self.replay is None and self.unlabelled is None and not r.class_balance
        order = labelled_order(self.labels, n_lab if plain else self.steps * b, rng, balance=r.class_balance)
        if self.unlabelled is not None:
            self.unlabelled.start_epoch(np.random.default_rng([self.seed, epoch, 9]))
        self.model.train()
        for stage in self.frozen:
            stage.eval()
        sums = dict.fromkeys(("loss", "correct", "n", "u_loss", "mask", "pseudo_lsbg"), 0.0)
        lr = 0.0
        for step in range(self.steps):
            rows = order[step * b : (step + 1) * b]
            if rows.size == 0 and self.n_replay == 0 and self.unlabelled is None:
                break
            x = self.images[rows]
            y = self.labels[rows]
            if self.n_replay:
                pick = rng.integers(0, len(self.replay[0]), self.n_replay)
                x = np.concatenate([x, self.replay[0][pick]])
                y = np.concatenate([y, self.replay[1][pick]])
            parts = [self._prepare(x, self.augment)] if len(x) else []
            if self.unlabelled is not None:
                u = self.unlabelled.next_batch(self.n_unlabelled)
                parts += [self._prepare(u, self.weak), self._prepare(u, self.strong)]
            lr = self._set_lr((epoch - 1) * self.steps + step)
            with autocast(self.device, self.precision):
                logits = _squeeze(self.model(torch.cat(parts)))
            target = torch.as_tensor(y, dtype=torch.long, device=self.device)
            n_x = len(x)
            objective = logits.new_zeros((), dtype=torch.float32)
            if n_x:
                loss, right = batch_loss(logits[:n_x], target)
                objective = objective + loss
                sums["loss"] += float(loss.detach()) * n_x
                sums["correct"] += float(right)
                sums["n"] += n_x
            if self.unlabelled is not None:
                m = self.n_unlabelled
                u_loss, mask, positive = consistency_loss(
                    logits[n_x : n_x + m], logits[n_x + m :], r.confidence
                )
                objective = objective + r.unlabelled_weight * u_loss
                sums["u_loss"] += float(u_loss.detach())
                sums["mask"] += float(mask)
                sums["pseudo_lsbg"] += float(positive)
            objective = objective + _penalty(self.model, self.optimizer, objective)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(objective).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                objective.backward()
                self.optimizer.step()
        row = {
            "epoch": epoch,
            "loss": sums["loss"] / max(sums["n"], 1),
            "accuracy": sums["correct"] / max(sums["n"], 1),
            "lr": lr,
        }
        if self.unlabelled is not None:
            row.update(
                unlabelled_loss=sums["u_loss"] / self.steps,
                confident_fraction=sums["mask"] / self.steps,
                pseudo_lsbg_fraction=sums["pseudo_lsbg"] / self.steps,
            )
        return row


def recalibrate_batch_norm(
    model: nn.Module,
    images: np.ndarray,
    *,
    device: torch.device,
    batch_size: int = 256,
) -> int:
    """Measure every batch-normalisation layer's running statistics anew on ``images`` (AdaBN).

    The statistics are reset and accumulated as a plain average over the cutouts, each layer
    seeing the output of the layers before it already recalibrated in the same pass; every
    other layer (dropout included) runs in evaluation mode, and no weight changes.

    Parameters
    ----------
    model : torch.nn.Module
        The network (changed in place; left in evaluation mode).
    images : ndarray of shape (N, H, W, C), uint8
        Cutouts of the target sky, as they are.
    device : torch.device
        Device of the model.
    batch_size : int, optional
        Cutouts per forward pass.

    Returns
    -------
    int
        The number of batch-normalisation layers recalibrated.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or len(images) == 0:
        return 0
    saved = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over all batches
        m.train()
    with torch.no_grad():
        for lo in range(0, len(images), batch_size):
            model(as_network_input(images[lo : lo + batch_size], device))
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    model.eval()
    return len(norms)


def fine_tune(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    recipe: Recipe,
    *,
    seed: int = 0,
    replay: tuple[np.ndarray, np.ndarray] | None = None,
    unlabelled: np.ndarray | UnlabelledPool | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    on_epoch: EpochHook | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """Return a fine-tuned copy of ``model`` and its history, one row per epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Trained network (left unchanged).
    images : ndarray of shape (N, H, W, C), uint8
        Labelled cutouts (N may be 0 with replay or unlabelled data: the zero-label case).
    labels : ndarray of shape (N,)
        Their classes (1 = LSBG, 0 = artifact; class indices for several classes).
    recipe : Recipe
        How to train (:mod:`deepshadows.finetuning.recipe`).
    seed : int, optional
        Seed of every draw (order, augmentation, dropout, replay, unlabelled batches).
    replay : (images, labels), optional
        Simulated cutouts replayed beside the labelled ones
        (:func:`deepshadows.finetuning.load_replay`).
    unlabelled : ndarray or UnlabelledPool, optional
        Unlabelled cutouts of the target sky for the consistency loss.
    device : str or torch.device, optional
        Device to train on.
    precision : {"fp32", "bf16", "fp16"}, optional
        Arithmetic of the forward pass (resolved).
    on_epoch : callable, optional
        ``on_epoch(epoch, model, row)`` after every epoch; a true return stops the run.
    checkpoint : path-like, optional
        File written atomically after every epoch (weights, optimizer, history).
    resume : bool, optional
        Continue from ``checkpoint`` when it exists (same recipe and seed required).

    Returns
    -------
    model : torch.nn.Module
        The fine-tuned copy, in evaluation mode.
    history : list of dict
        ``epoch``, ``loss``, ``accuracy``, ``lr`` and, with unlabelled data,
        ``unlabelled_loss``, ``confident_fraction`` and ``pseudo_lsbg_fraction``.

    Raises
    ------
    deepshadows.errors.InputError
        If there is nothing to learn from, the labels and cutouts disagree in number, or a
        checkpoint to resume was written for another recipe or seed.
    """
    recipe = recipe.validate()
    images = np.asarray(images)
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels):
        raise InputError(f"{len(images)} cutouts but {len(labels)} labels")
    if len(images) == 0 and replay is None and unlabelled is None:
        raise InputError("fine-tuning sample is empty (and no --replay or --unlabelled data was given)")
    if len(images) and images.dtype != np.uint8:
        raise InputError(f"fine-tuning cutouts must be uint8, got {images.dtype}")
    if len(images) == 0:  # the zero-label case: shape the empty sample like the other cutouts
        like = (
            replay[0] if replay is not None else (unlabelled if isinstance(unlabelled, np.ndarray) else None)
        )
        images = np.zeros((0, *(like.shape[1:] if like is not None else (64, 64, 3))), dtype=np.uint8)
    dev = torch.device(device)
    tuned = copy.deepcopy(model).to(dev)
    torch.manual_seed(seed)
    pool = UnlabelledPool(unlabelled) if isinstance(unlabelled, np.ndarray) else unlabelled
    run = _Run(
        tuned,
        images,
        labels,
        recipe,
        seed=seed,
        replay=replay,
        unlabelled=pool,
        device=dev,
        precision=precision,
    )
    history: list[dict[str, float]] = []
    first = 1
    path = None if checkpoint is None else Path(checkpoint)
    if resume and path is not None and path.is_file():
        state = load_checkpoint(path, map_location=dev)
        if state.get("recipe") != recipe.to_dict() or state.get("seed") != int(seed):
            raise InputError(f"{path}: was written for another recipe or seed; start afresh without --resume")
        tuned.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        history = [dict(row) for row in state["history"]]
        first = int(state["epoch"]) + 1
    for epoch in range(first, recipe.epochs + 1):
        row = run.epoch(epoch)
        history.append(row)
        if path is not None:
            save_checkpoint(
                path,
                {
                    "epoch": epoch,
                    "model": tuned.state_dict(),
                    "optimizer": run.optimizer.state_dict(),
                    "history": history,
                    "recipe": recipe.to_dict(),
                    "seed": int(seed),
                },
            )
        if on_epoch is not None and on_epoch(epoch, tuned, row):
            break
    if recipe.bn_recalibrate:
        sky = [images]
        if pool is not None:
            sky.append(pool.sample(recipe.bn_cutouts, np.random.default_rng([seed, 0, 11])))
        recalibrate_batch_norm(tuned, np.concatenate(sky), device=dev)
    return tuned.eval(), history
