"""Optimizer settings per architecture, AdamW and the learning-rate schedule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.training.test_fit import write_store

from deepshadows.errors import InputError
from deepshadows.models import create_model
from deepshadows.training import TrainConfig, fit
from deepshadows.training.config import PAPER_OPTIMIZER, comparable_config, make_optimizer, optimizer_defaults
from deepshadows.training.optim import KerasAdadelta
from deepshadows.training.schedule import lr_factor, scheduled

pytestmark = pytest.mark.usefixtures("one_torch_thread")

OPTIMIZER_KEYS = ("optimizer", "lr", "weight_decay", "schedule", "warmup_epochs")


def test_table1_keeps_the_paper_optimizer() -> None:
    cfg = TrainConfig()
    assert {k: getattr(cfg, k) for k in OPTIMIZER_KEYS} == dict(PAPER_OPTIMIZER)
    assert cfg.lr == 0.1 and cfg.optimizer == "adadelta"
    assert isinstance(make_optimizer(create_model("deepshadows-table1"), cfg), KerasAdadelta)


def test_compact_resnet_defaults_to_adamw_with_a_cosine_schedule() -> None:
    cfg = TrainConfig(model="compact-resnet").validate()
    assert cfg.to_dict() | optimizer_defaults("compact-resnet") == cfg.to_dict()
    assert (cfg.optimizer, cfg.schedule, cfg.lr, cfg.weight_decay) == ("adamw", "cosine", 2e-3, 0.05)
    optimizer = make_optimizer(create_model("compact-resnet"), cfg)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["lr"] == 2e-3


def test_explicit_settings_win_over_the_defaults() -> None:
    cfg = TrainConfig(model="compact-resnet", lr=0.01, schedule="constant").validate()
    assert (cfg.lr, cfg.schedule, cfg.optimizer) == (0.01, "constant", "adamw")
    cfg = TrainConfig(model="compact-resnet", optimizer="adadelta", weight_decay=0.0, lr=0.1)
    assert isinstance(make_optimizer(create_model("compact-resnet"), cfg.validate()), KerasAdadelta)


def test_old_configurations_resolve_to_the_paper_settings() -> None:
    old = {
        k: v
        for k, v in TrainConfig(epochs=3).to_dict().items()
        if k not in OPTIMIZER_KEYS[:1] + OPTIMIZER_KEYS[2:]
    }
    assert TrainConfig.from_dict(old) == TrainConfig(epochs=3)
    assert comparable_config(old) == TrainConfig(epochs=3).to_dict()


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"optimizer": "sgd"}, "--optimizer"),
        ({"weight_decay": -1.0, "optimizer": "adamw"}, "--weight-decay"),
        ({"weight_decay": 0.1}, "--weight-decay"),  # Adadelta takes L2 penalties instead
        ({"schedule": "step"}, "--schedule"),
        ({"warmup_epochs": -1}, "--warmup-epochs"),
    ],
)
def test_bad_settings_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(InputError, match=option):
        TrainConfig(**kwargs).validate()


def test_lr_factor_warms_up_then_decays_to_zero() -> None:
    factors = [lr_factor(s, 10, schedule="cosine", warmup=2) for s in range(10)]
    assert factors[:2] == [0.5, 1.0]
    assert all(a >= b for a, b in zip(factors[1:], factors[2:], strict=False))
    assert factors[-1] == pytest.approx(0.5 * (1 + np.cos(np.pi * 7 / 8)))
    assert lr_factor(10, 10, schedule="cosine") == pytest.approx(0.0)
    assert lr_factor(5, 10, schedule="constant") == 1.0
    with pytest.raises(ValueError, match="schedule"):
        lr_factor(0, 10, schedule="linear")


def test_scheduled_sets_the_rate_of_each_step() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=1.0)
    seen = [
        optimizer.param_groups[0]["lr"]
        for _ in scheduled(range(3), optimizer, peak_lr=2.0, first_step=1, total=4, schedule="cosine")
    ]
    assert seen == pytest.approx([2.0 * lr_factor(s, 4, schedule="cosine") for s in (1, 2, 3)])


def test_fit_records_the_settings_and_resumes_exactly(tmp_path: Path) -> None:
    store = write_store(tmp_path / "s.h5", n=32, size=16)
    cfg = TrainConfig(
        model="compact-resnet", epochs=2, batch_size=8, seed=3, precision="fp32", calibration="none"
    )
    straight = fit(store, tmp_path / "a", cfg, progress=False)
    saved = json.loads((tmp_path / "a" / "config.json").read_text())["train"]
    assert {k: saved[k] for k in OPTIMIZER_KEYS} == optimizer_defaults("compact-resnet")
    fit(store, tmp_path / "b", TrainConfig(**{**cfg.to_dict(), "epochs": 1}), progress=False)
    resumed = fit(store, tmp_path / "b", cfg, resume=True, progress=False)
    assert straight["history"][-1]["val_loss"] == resumed["history"][-1]["val_loss"]
