"""Tiny models and stores for the fine-tuning tests: 16 x 16 cutouts of the labelling tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.labelling.conftest import cutouts, model_dir, store, write_store
from tests.transfer.test_transfer import SIZE

from deepshadows.data import StoreWriter
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
    images, labels = cutouts(n, seed)
    with StoreWriter(
        path,
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {}},
        image_shape=(SIZE, SIZE, 3),
    ) as writer:
        writer.append(
            {
                "images": images,
                "label": labels,
                "kind": np.where(labels == 1, "lsbg", "type2"),
                "subclass": np.where(labels == 1, "", "A"),
                "id": np.array([f"sim-{i}" for i in range(n)]),
            }
        )
        return writer.finalize(np.array(["train"] * n), split_fractions=None, split_seed=None)


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
