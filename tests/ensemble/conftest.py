"""Shared fixtures of the ensemble tests: a tiny store and a three-member ensemble trained on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from tests.training.test_fit import write_store

from deepshadows.cli.main import cli
from deepshadows.training import TrainConfig

#: Train, val and test rows with LSBGs and artifacts in each.
SPLIT = np.array(["train"] * 4 + ["val", "val", "test", "test"] * 1)
CFG = TrainConfig(epochs=2, batch_size=8, lr=1.0, seed=7, precision="fp32")
TRAIN_OPTIONS = ["--epochs", "2", "--batch-size", "8", "--lr", "1.0", "--seed", "7", "--precision", "fp32"]


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("data") / "synthetic.h5", split=np.tile(SPLIT, 8))


@pytest.fixture(scope="session")
def ensemble(tmp_path_factory: pytest.TempPathFactory, store: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ensemble"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests that train beside it (one_torch_thread)
    try:
        result = CliRunner().invoke(
            cli, ["train", str(store), "--out", str(out), "--members", "3", "--quiet", *TRAIN_OPTIONS]
        )
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    assert "ensemble of 3 members" in result.output
    return out
