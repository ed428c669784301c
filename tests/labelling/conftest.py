"""A tiny store of 16 x 16 cutouts and an untrained model for the labelling tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.transfer.test_transfer import SIZE
from tests.transfer.test_transfer import _cutouts as _transfer_cutouts

from deepshadows.data import StoreWriter
from deepshadows.models import create_model, save_model

# The transfer tests' synthetic cutouts: a faint central blob (LSBG) or a bright off-centre one.
cutouts = _transfer_cutouts


def write_store(path: Path, n: int, seed: int = 1, *, split: str = "test", prefix: str = "obj") -> Path:
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
                "id": np.array([f"{prefix}-{i}" for i in range(n)]),
            }
        )
        writer.finalize(np.array([split] * n), split_fractions=None, split_seed=None)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "cutouts.h5", 40)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("deepshadows-table1", image_size=SIZE)
    save_model(
        model, tmp_path / "start" / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]}
    )
    return tmp_path / "start"
