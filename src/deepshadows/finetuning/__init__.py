"""Fine-tuning on few real labels: recipes, replay of simulations, unlabelled cutouts, cross-validation."""

from __future__ import annotations

from deepshadows.finetuning.crossval import CrossValidation, cross_validate, stratified_folds, subsample
from deepshadows.finetuning.loop import fine_tune
from deepshadows.finetuning.recipe import RECIPES, Recipe, default_recipe, get_recipe
from deepshadows.finetuning.streams import UnlabelledPool, load_replay

__all__ = [
    "RECIPES",
    "CrossValidation",
    "Recipe",
    "UnlabelledPool",
    "cross_validate",
    "default_recipe",
    "fine_tune",
    "get_recipe",
    "load_replay",
    "stratified_folds",
    "subsample",
]
