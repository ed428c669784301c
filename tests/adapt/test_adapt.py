"""Domain adaptation: the alignment loss, the target batches and training with --adapt-to."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from tests.training.test_fit import write_store

from deepshadows.adapt import FeatureAlignment, TargetBatches
from deepshadows.errors import InputError
from deepshadows.training import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("loss", ["sinkhorn", "energy", "gaussian"])
def test_alignment_is_small_for_one_distribution_and_grows_with_a_shift(loss):
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(128, 4, generator=gen), torch.randn(128, 4, generator=gen)
    align = FeatureAlignment(loss)
    same, shifted = float(align(a, b)), float(align(a, b + 2.0))
    assert shifted > 3 * same
    # Divided by the mean feature norm: the same value at any scale.
    assert float(align(10 * a, 10 * (b + 2.0))) == pytest.approx(shifted, rel=1e-3)


@pytest.mark.parametrize("loss", ["sinkhorn", "energy", "gaussian"])
def test_alignment_of_identical_features_is_finite(loss):
    # A batch whose features are all alike (e.g. all zero after a ReLU) must not break the step.
    same = torch.zeros(8, 16)
    assert torch.isfinite(FeatureAlignment(loss)(same, same + 0.0))
    assert torch.isfinite(FeatureAlignment(loss)(same, torch.ones(8, 16)))


def test_alignment_has_gradients_for_both_batches():
    a = torch.randn(16, 8, requires_grad=True)
    b = (torch.randn(16, 8) + 2).requires_grad_(True)
    FeatureAlignment("sinkhorn")(a, b).backward()
    assert a.grad is not None and b.grad is not None and float(a.grad.abs().sum()) > 0


def test_unknown_loss_names_the_option():
    with pytest.raises(InputError, match="--adapt-loss"):
        FeatureAlignment("kl")


def test_target_batches_are_endless_and_cover_every_cutout(tmp_path):
    path = write_store(tmp_path / "target.h5", n=20, size=16)
    target = TargetBatches(path, (16, 16, 3), seed=1)
    batches = target.batches(8)
    seen = np.concatenate([next(batches) for _ in range(5)])  # two whole passes
    assert seen.shape == (40, 16, 16, 3)
    flat = {img.tobytes() for img in seen}
    assert flat == {img.tobytes() for img in target.images}
    target.reseed(3)
    first = next(target.batches(8))
    target.reseed(3)
    assert np.array_equal(first, next(target.batches(8)))


def test_target_of_another_size_is_refused(tmp_path):
    path = write_store(tmp_path / "target.h5", n=8, size=16)
    with pytest.raises(InputError, match="--adapt-to"):
        TargetBatches(path, (64, 64, 3))


def test_training_with_adaptation_records_the_alignment_and_its_configuration(tmp_path):
    source = write_store(tmp_path / "source.h5", n=32, size=16)
    target = write_store(tmp_path / "target.h5", n=16, size=16)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1.0, seed=3, adapt_to=str(target), adapt_loss="energy")
    result = fit(source, tmp_path / "run", cfg, progress=False)
    assert result["epochs_completed"] == 2
    with (tmp_path / "run" / "history.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(float(row["train_alignment"]) >= 0 for row in rows)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    text = json.dumps(config)
    assert '"adapt_loss": "energy"' in text and '"augment": "default"' in text
    plain = fit(
        source, tmp_path / "plain", TrainConfig(epochs=1, batch_size=8, lr=1.0, seed=3), progress=False
    )
    assert "train_alignment" not in plain["history"][0]


def test_old_configurations_read_as_trained_without_augmentation():
    cfg = TrainConfig.from_dict({"epochs": 5})
    assert cfg.augment == "none"


def test_semi_supervised_training_records_the_unlabelled_loss(tmp_path):
    source = write_store(tmp_path / "source.h5", n=32, size=16)
    sky = write_store(tmp_path / "sky.h5", n=16, size=16)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1.0, seed=3, unlabelled=str(sky), confidence=0.5)
    result = fit(source, tmp_path / "run", cfg, progress=False)
    assert result["epochs_completed"] == 2
    with (tmp_path / "run" / "history.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(float(row["train_unlabelled_loss"]) >= 0 for row in rows)
    assert all(float(row["train_confident_fraction"]) == 1.0 for row in rows)  # every view at 0.5
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert '"unlabelled": ' in json.dumps(config) and "sky.h5" in json.dumps(config)
    with pytest.raises(InputError, match="--unlabelled and --adapt-to exclude each other"):
        TrainConfig(unlabelled=str(sky), adapt_to=str(sky)).validate()
    with pytest.raises(InputError, match="--unlabelled: .*cutouts of shape"):
        fit(
            source,
            tmp_path / "bad",
            TrainConfig(epochs=1, unlabelled=str(write_store(tmp_path / "big.h5", n=4, size=32))),
            progress=False,
        )
