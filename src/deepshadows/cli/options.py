"""The fine-tuning recipe options shared by ``finetune`` and ``transfer``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["RECIPE_FIELDS", "recipe_options"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Names of the recipe fields these options set (None when not given).
RECIPE_FIELDS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "layer_decay",
    "freeze",
    "augment",
    "class_balance",
)


def recipe_options(function: _F) -> _F:
    """Add ``--recipe`` and the options that override its fields to a command.

    Parameters
    ----------
    function : callable
        The command function; it receives ``recipe`` and every name of :data:`RECIPE_FIELDS`.

    Returns
    -------
    callable
        The decorated function.
    """
    options = (
        click.option(
            "--recipe",
            type=click.Choice(["paper", "adamw"]),
            default=None,
            help="Fine-tuning recipe [the architecture's: paper for Table 1, adamw for compact-resnet].",
        ),
        click.option("--epochs", type=int, default=None, help="Epochs [the recipe's: paper 30, adamw 40]."),
        click.option("--batch-size", type=int, default=None, help="Labelled cutouts per step [16]."),
        click.option("--lr", type=float, default=None, help="Peak learning rate [paper 0.005, adamw 3e-4]."),
        click.option("--weight-decay", type=float, default=None, help="AdamW weight decay [adamw 0.05]."),
        click.option(
            "--layer-decay",
            type=float,
            default=None,
            help="Learning-rate factor per stage towards the input (1: the same everywhere).",
        ),
        click.option(
            "--freeze",
            type=int,
            default=None,
            help="Leading stages kept fixed (-1: all; the dense layers train) [paper 0, adamw 3].",
        ),
        click.option(
            "--augment",
            type=click.Choice(["none", "dihedral", "default"]),
            default=None,
            help="Augmentation of labelled batches [paper none, adamw default: flips, rotations, rendering].",
        ),
        click.option(
            "--class-balance/--no-class-balance",
            default=None,
            help="Draw both classes equally often [paper no, adamw yes].",
        ),
        click.option(
            "--bn-recalibrate/--no-bn-recalibrate",
            default=None,
            help="At the end, measure the batch-normalisation statistics on the real cutouts (AdaBN) [no].",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function
