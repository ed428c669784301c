"""The optimizer of a fine-tuning: which parameters train, and at what share of the learning rate.

A network's depth is read from its layout: ``blocks`` (the feature extractor, a sequence of
stages from the input up: the compact ResNet's stem and four stages, Table 1's convolutional
blocks) and the dense layers after it. With a ``layer_decay`` below 1, stage ``i`` of ``n``
gets ``layer_decay ** (n - i)`` of the peak learning rate and the dense layers all of it; every
group carries that share as ``lr_scale``, which the loop multiplies with the scheduled rate.
Frozen stages take no step and keep their batch-normalisation statistics (they run in
evaluation mode while the rest trains).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.finetuning.recipe import Recipe
from deepshadows.training.config import TrainConfig, make_optimizer

__all__ = ["frozen_stages", "make_finetune_optimizer", "stages"]


def stages(model: nn.Module) -> list[nn.Module]:
    """Return the stages of a network's feature extractor, from the input up.

    Parameters
    ----------
    model : torch.nn.Module
        A network with ``blocks`` (a sequence of modules).

    Returns
    -------
    list of torch.nn.Module

    Raises
    ------
    deepshadows.errors.InputError
        If the network has no ``blocks``.
    """
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential):
        raise InputError(
            f"{type(model).__name__}: fine-tuning by stage needs a 'blocks' sequence (its feature extractor)"
        )
    return list(blocks)


def frozen_stages(model: nn.Module, recipe: Recipe) -> list[nn.Module]:
    """Return the stages that ``recipe.freeze`` keeps fixed (all of them for -1).

    Parameters
    ----------
    model : torch.nn.Module
        A network with ``blocks``.
    recipe : Recipe
        Gives ``freeze``.

    Returns
    -------
    list of torch.nn.Module
        The frozen stages, from the input up (empty for ``freeze == 0``).

    Raises
    ------
    deepshadows.errors.InputError
        If more stages are asked than the network has.
    """
    if recipe.freeze == 0:
        return []
    parts = stages(model)
    if recipe.freeze > len(parts):
        raise InputError(f"--freeze: {type(model).__name__} has {len(parts)} stages, got {recipe.freeze}")
    return parts if recipe.freeze == -1 else parts[: recipe.freeze]


def _spared(model: nn.Module) -> set[str]:
    spare = getattr(model, "no_weight_decay", None)
    if callable(spare):
        return set(spare())
    return {name for name, p in model.named_parameters() if p.ndim <= 1}


def make_finetune_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """Return the optimizer of a fine-tuning, with the frozen stages' parameters left out.

    Parameters
    ----------
    model : torch.nn.Module
        The network being tuned; the frozen stages' parameters get ``requires_grad=False``.
    recipe : Recipe
        Gives the optimizer, learning rate, weight decay, layer decay and frozen stages.

    Returns
    -------
    torch.optim.Optimizer
        Every parameter group holds ``lr_scale``: its share of the scheduled learning rate.
        Adadelta (the paper's recipe) takes the model's own L2 groups at one rate.

    Raises
    ------
    deepshadows.errors.InputError
        If a layer decay or frozen stages are asked of a network without ``blocks``, or
        nothing is left to train.
    """
    frozen = frozen_stages(model, recipe)
    fixed = {id(p) for stage in frozen for p in stage.parameters()}
    for stage in frozen:
        for p in stage.parameters():
            p.requires_grad_(False)
    if recipe.optimizer == "adadelta":
        cfg = TrainConfig(
            optimizer="adadelta", lr=recipe.lr, batch_size=recipe.batch_size, epochs=recipe.epochs
        )
        optimizer = make_optimizer(model, cfg)
        for group in optimizer.param_groups:
            group["params"] = [p for p in group["params"] if id(p) not in fixed]
            group["lr_scale"] = 1.0
        optimizer.param_groups[:] = [g for g in optimizer.param_groups if g["params"]]
    else:
        scale_of = _depth_scales(model, recipe.layer_decay)
        spared = _spared(model)
        buckets: dict[tuple[float, bool], list[nn.Parameter]] = {}
        for name, p in model.named_parameters():
            if id(p) in fixed:
                continue
            key = (scale_of.get(name, 1.0), name in spared)
            buckets.setdefault(key, []).append(p)
        groups: list[dict[str, Any]] = [
            {"params": ps, "weight_decay": 0.0 if no_decay else recipe.weight_decay, "lr_scale": scale}
            for (scale, no_decay), ps in sorted(buckets.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
        ]
        optimizer = torch.optim.AdamW(groups, lr=recipe.lr) if groups else None
    if optimizer is None or not optimizer.param_groups:
        raise InputError("--freeze: every parameter is frozen; nothing left to fine-tune")
    return optimizer


def _depth_scales(model: nn.Module, decay: float) -> dict[str, float]:
    """Learning-rate share of every parameter inside ``blocks``, by the stage that holds it."""
    if decay == 1.0:
        return {}
    parts = stages(model)
    n = len(parts)
    scales = {}
    for i, stage in enumerate(parts):
        for name, _ in stage.named_parameters():
            scales[f"blocks.{i}.{name}"] = float(decay ** (n - i))
    return scales
