"""The shipped recipes, their overrides and their record."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from deepshadows.errors import InputError
from deepshadows.finetuning import RECIPES, Recipe, default_recipe, get_recipe


def test_the_paper_recipe_is_section_5():
    paper = RECIPES["paper"]
    assert (paper.name, paper.optimizer, paper.lr, paper.epochs, paper.batch_size) == (
        "paper",
        "adadelta",
        0.005,
        30,
        16,
    )
    assert paper.augment == "none" and paper.schedule == "constant" and paper.class_balance is False
    assert paper.freeze == 0 and paper.layer_decay == 1.0
    assert get_recipe("paper") is paper


def test_the_adamw_recipe_and_the_defaults_by_architecture():
    adamw = RECIPES["adamw"]
    assert (adamw.optimizer, adamw.schedule, adamw.augment, adamw.class_balance) == (
        "adamw",
        "cosine",
        "default",
        True,
    )
    assert default_recipe("deepshadows-table1") is RECIPES["paper"]
    assert default_recipe("compact-resnet") is adamw
    assert default_recipe(None) is adamw and default_recipe("some-other-net") is adamw
    with pytest.raises(InputError, match="--recipe: choose from paper, adamw, got 'sgd'"):
        get_recipe("sgd")


def test_replace_ignores_none_and_validates():
    base = RECIPES["adamw"]
    changed = base.replace(lr=1e-3, epochs=None, batch_size=None, freeze=2)
    assert changed.lr == 1e-3 and changed.freeze == 2
    assert changed.epochs == base.epochs and changed.batch_size == base.batch_size
    assert base.lr == 3e-4  # frozen dataclass: the shipped recipe is untouched
    assert base.replace() == base
    with pytest.raises(InputError, match="unknown setting.*learning_rate"):
        base.replace(learning_rate=0.1)


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("layer_decay", 0.0, "--layer-decay"),
        ("layer_decay", 1.5, "--layer-decay"),
        ("lr", -1.0, "--lr"),
        ("lr", math.nan, "--lr"),
        ("epochs", 0, "--epochs"),
        ("epochs", True, "--epochs"),
        ("batch_size", 2.5, "--batch-size"),
        ("min_steps", 0, "--min-steps"),
        ("unlabelled_ratio", 0, "--unlabelled-ratio"),
        ("optimizer", "sgd", "--optimizer"),
        ("schedule", "step", "--schedule"),
        ("augment", "heavy", "--augment"),
        ("replay_fraction", 1.0, "--replay-fraction"),
        ("confidence", 0.4, "--confidence"),
        ("freeze", -2, "--freeze"),
        ("weight_decay", -0.1, "--weight-decay"),
        ("warmup_epochs", -1.0, "--warmup-epochs"),
    ],
)
def test_bad_values_name_the_option(field, value, option):
    with pytest.raises(InputError, match=option):
        RECIPES["adamw"].replace(**{field: value})


@pytest.mark.parametrize("value", [math.nan, math.inf])
@pytest.mark.parametrize("field", ["weight_decay", "warmup_epochs", "unlabelled_weight"])
def test_non_finite_values_are_refused(field, value):
    with pytest.raises(InputError, match=f"--{field.replace('_', '-')}"):
        RECIPES["adamw"].replace(**{field: value})


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_to_dict_from_dict_round_trip(name):
    recipe = RECIPES[name].replace(lr=0.01, freeze=-1, replay_fraction=0.25)
    data = json.loads(json.dumps(recipe.to_dict()))  # what finetune.json holds
    assert set(data) == {f.name for f in dataclasses.fields(Recipe)}
    assert Recipe.from_dict(data) == recipe
    with pytest.raises(InputError, match="unknown setting.*colour"):
        Recipe.from_dict({**data, "colour": "red"})
