"""Fine-tuning recipes: how a trained network learns from a small labelled sample.

Two recipes ship:

``paper``
    Section 5 of the paper, kept for Table 1: the whole network, Adadelta with learning rate
    0.005 at a constant rate (the model's L2 penalties kept), batches of 16 in a fresh order
    every epoch, 30 epochs, no augmentation.
``adamw``
    For few real labels and modern networks (the default of ``compact-resnet``): AdamW with
    learning rate 3e-4 and decoupled weight decay 0.05, one epoch of linear warm-up then a
    cosine decay over 40 epochs, the first three stages of the feature extractor frozen (the
    compact ResNet's stem and first two stages: their filters and normalisation statistics
    stay those learnt on simulations), the training augmentations including the rendering ones,
    and class-balanced batches. Its values were chosen by stratified 5-fold cross-validation
    over three seeds on the 164 labelled real cutouts of the development set (docs/finetuning.md).

Every field can be overridden (:meth:`Recipe.replace`); the recipe used is written beside the
fine-tuned model. Replay of simulated batches and semi-supervised learning on unlabelled
cutouts are switched on by giving their data (``replay``/``unlabelled`` of
:func:`deepshadows.finetuning.fine_tune`); the recipe sets how much they weigh.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepshadows.errors import InputError

__all__ = ["AUGMENTATIONS", "RECIPES", "Recipe", "default_recipe", "get_recipe"]

#: Augmentation levels of a recipe: none, the eight flips and rotations only, or the training
#: augmentations (flips and rotations, shifts, blur, colour gains, noise).
AUGMENTATIONS: tuple[str, ...] = ("none", "dihedral", "default")
_OPTIMIZERS = ("adadelta", "adamw")
_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    """How to fine-tune.

    Parameters
    ----------
    name : str
        Name of the recipe it was made from (recorded).
    optimizer : {"adadelta", "adamw"}
        Adadelta (the paper's; the model's L2 penalties folded into its update) or AdamW.
    lr : float
        Peak learning rate (of the top layers, with ``layer_decay``).
    weight_decay : float
        AdamW's decoupled weight decay (spared on biases and normalisation parameters).
    schedule : {"constant", "cosine"}
        Constant, or linear warm-up over ``warmup_epochs`` then cosine decay to zero.
    warmup_epochs : float
        Warm-up length in epochs (may be fractional).
    epochs : int
        Epochs, each one pass over the labelled sample (at least ``min_steps`` steps).
    batch_size : int
        Labelled cutouts per step.
    layer_decay : float
        Learning-rate factor per stage below the top: stage ``i`` of ``n`` (0 nearest the
        input) trains at ``lr * layer_decay ** (n - i)``, the dense layers at ``lr``; 1 trains
        every layer at the same rate.
    freeze : int
        Leading stages of the feature extractor kept fixed (weights and batch-normalisation
        statistics); -1 freezes them all (the dense layers alone train, ``--head-only``).
    augment : {"none", "dihedral", "default"}
        Augmentation of the labelled (and replayed) batches.
    class_balance : bool
        Draw every epoch's labelled cutouts with weights that give both classes the same
        expected share (with replacement), instead of one plain pass.
    replay_fraction : float
        With replay data: share of each step's cutouts that are replayed simulations.
    unlabelled_ratio : int
        With unlabelled data: unlabelled cutouts per labelled cutout in a step (FixMatch's mu).
    unlabelled_weight : float
        Weight of the consistency loss on the unlabelled cutouts (FixMatch's lambda).
    confidence : float
        Pseudo-labels count only where the weakly augmented view's probability of its class
        is at least this (FixMatch's tau).
    min_steps : int
        Fewest steps per epoch when replay or unlabelled data are given (a handful of labels
        would otherwise see the unlabelled sky for only a few steps).
    bn_recalibrate : bool
        After the last epoch, measure every batch-normalisation layer's statistics anew on the
        target sky's own cutouts as they are (the labelled ones and up to ``bn_cutouts``
        unlabelled ones, no augmentation): the network then normalises real cutouts by their
        own statistics rather than those of simulations or augmented batches (AdaBN, Li et
        al. 2016).
    bn_cutouts : int
        Most unlabelled cutouts used by ``bn_recalibrate``.
    """

    name: str = "adamw"
    optimizer: str = "adamw"
    lr: float = 3e-4
    weight_decay: float = 0.05
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    epochs: int = 40
    batch_size: int = 16
    layer_decay: float = 1.0
    freeze: int = 3
    augment: str = "default"
    class_balance: bool = True
    replay_fraction: float = 0.5
    unlabelled_ratio: int = 3
    unlabelled_weight: float = 1.0
    confidence: float = 0.95
    min_steps: int = 20
    bn_recalibrate: bool = False
    bn_cutouts: int = 5000

    def validate(self) -> Recipe:
        """Check every value, raising :class:`InputError` that names the option."""

        def positive(name: str, value: Any, *, integer: bool = False) -> None:
            ok = isinstance(value, int) if integer else isinstance(value, int | float)
            if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
                raise InputError(f"--{name.replace('_', '-')}: must be a positive number, got {value!r}")

        if self.optimizer not in _OPTIMIZERS:
            raise InputError(f"--optimizer: choose from {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in _SCHEDULES:
            raise InputError(f"--schedule: choose from {', '.join(_SCHEDULES)}, got {self.schedule!r}")
        if self.augment not in AUGMENTATIONS:
            raise InputError(f"--augment: choose from {', '.join(AUGMENTATIONS)}, got {self.augment!r}")
        positive("lr", self.lr)
        for name in ("epochs", "batch_size", "unlabelled_ratio", "min_steps", "bn_cutouts"):
            positive(name, getattr(self, name), integer=True)
        if not 0.0 < self.layer_decay <= 1.0:
            raise InputError(f"--layer-decay: must lie in (0, 1], got {self.layer_decay!r}")
        for name in ("weight_decay", "warmup_epochs", "unlabelled_weight"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise InputError(f"--{name.replace('_', '-')}: must be a finite number >= 0, got {value!r}")
        if not 0.0 <= self.replay_fraction < 1.0:
            raise InputError(f"--replay-fraction: must lie in [0, 1), got {self.replay_fraction!r}")
        if not 0.5 <= self.confidence <= 1.0:
            raise InputError(f"--confidence: must lie in [0.5, 1], got {self.confidence!r}")
        if not isinstance(self.freeze, int) or self.freeze < -1:
            raise InputError(f"--freeze: must be -1 (all stages) or a number of stages, got {self.freeze!r}")
        return self

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with the given fields changed (None values are ignored), validated.

        Parameters
        ----------
        **changes
            Field values.

        Returns
        -------
        Recipe
            The copy, with the changes applied and checked by :meth:`validate`.

        Raises
        ------
        deepshadows.errors.InputError
            For an unknown field or a bad value.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InputError(f"recipe: unknown setting(s) {', '.join(unknown)}")
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given).validate()

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Return the recipe that :meth:`to_dict` wrote (unknown keys are an error)."""
        return cls().replace(**dict(data))


#: The shipped recipes, by name.
RECIPES: dict[str, Recipe] = {
    "paper": Recipe(
        name="paper",
        optimizer="adadelta",
        lr=0.005,
        weight_decay=0.0,
        schedule="constant",
        warmup_epochs=0.0,
        epochs=30,
        batch_size=16,
        layer_decay=1.0,
        freeze=0,
        augment="none",
        class_balance=False,
    ),
    "adamw": Recipe(),
}

#: The recipe each architecture fine-tunes with unless told otherwise.
_DEFAULT_FOR = {"deepshadows-table1": "paper", "compact-resnet": "adamw"}


def get_recipe(name: str) -> Recipe:
    """Return a shipped recipe by name.

    Parameters
    ----------
    name : str
        One of :data:`RECIPES`.

    Returns
    -------
    Recipe
        The shipped recipe of that name (:data:`RECIPES`).

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown name.
    """
    if name not in RECIPES:
        raise InputError(f"--recipe: choose from {', '.join(RECIPES)}, got {name!r}")
    return RECIPES[name]


def default_recipe(architecture: str | None) -> Recipe:
    """Return the recipe an architecture fine-tunes with by default.

    Parameters
    ----------
    architecture : str or None
        Registered architecture name (``deepshadows-table1``, ``compact-resnet``); unknown
        names get the ``adamw`` recipe.

    Returns
    -------
    Recipe
        ``paper`` for ``deepshadows-table1``, ``adamw`` otherwise.
    """
    return RECIPES[_DEFAULT_FOR.get(str(architecture), "adamw")]
