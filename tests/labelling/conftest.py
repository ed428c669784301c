"""A tiny store of 16 x 16 cutouts and an untrained model for the labelling tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.data import StoreWriter
from deepshadows.models import create_model, save_model

SIZE = 16


def cutouts(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """LSBGs: a faint central blob; artifacts: a bright off-centre one."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    blob = np.exp(-(xx**2 + yy**2) / 8)
    images = 30 + rng.normal(0, 6, (n, SIZE, SIZE, 3))
    images += (labels * 40.0)[:, None, None, None] * blob[None, :, :, None]
    images += ((1 - labels) * 80.0)[:, None, None, None] * np.roll(blob, 4, axis=1)[None, :, :, None]
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_store(path: Path, n: int, seed: int = 1) -> Path:
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
                "id": np.array([f"obj-{i}" for i in range(n)]),
            }
        )
        writer.finalize(np.array(["test"] * n), split_fractions=None, split_seed=None)
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
