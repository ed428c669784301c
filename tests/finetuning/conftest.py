"""Tiny models and stores for the fine-tuning tests: 16 x 16 cutouts of the labelling tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.labelling.conftest import cutouts, model_dir, store, write_store
from tests.transfer.test_transfer import SIZE

from deepshadows.models import create_model, save_model

# The labelling tests' fixtures (a 40-row store of the "test" split, an untrained Table-1 model).
__all__ = ["SIZE", "cutouts", "model_dir", "small_resnet", "store", "write_store", "write_train_store"]

#: The smallest compact ResNet: 16 x 16 inputs (2 ** 4 for its four stages), 8 channels a stage.
SMALL_RESNET = {"image_size": SIZE, "widths": (8, 8, 8, 8), "depths": (1, 1, 1, 1), "hidden": 16}


def small_resnet(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model("compact-resnet", **SMALL_RESNET)


def write_train_store(path: Path, n: int, seed: int = 5) -> Path:
    """A store like ``write_store``'s, every row in the ``train`` split (what replay reads)."""
    return write_store(path, n, seed, split="train", prefix="sim")


@pytest.fixture
def resnet() -> torch.nn.Module:
    return small_resnet()


@pytest.fixture
def resnet_dir(tmp_path: Path) -> Path:
    save_model(
        small_resnet(),
        tmp_path / "resnet" / "model.safetensors",
        metadata={"class_names": ["artifact", "lsbg"]},
    )
    return tmp_path / "resnet"
