"""The Keras yardstick of the benchmarks (benchmarks/keras_table1.py) matches DeepShadowsCNN.

Skipped where TensorFlow is not installed (it is only in the ``bench`` extra).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import torch  # noqa: E402

from deepshadows.models.table1 import DeepShadowsCNN  # noqa: E402

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "keras_table1.py"


@pytest.fixture(scope="module")
def kt(one_torch_thread):
    """The benchmarks/keras_table1.py module, with TensorFlow on one thread if not yet started."""
    spec = importlib.util.spec_from_file_location("keras_table1", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("keras_table1", module)
    spec.loader.exec_module(module)
    if not module.available():
        pytest.skip("Keras on the TensorFlow backend is not available")
    try:
        module.set_threads(1)
    except RuntimeError:
        pass  # TensorFlow already initialised by an earlier test: keep its threads
    return module


def _randomise_batchnorm(model: DeepShadowsCNN, generator: torch.Generator) -> None:
    """Give the BatchNorm layers non-trivial affine parameters and running statistics."""
    with torch.no_grad():
        for block in model.blocks:
            bn = block.bn
            n = bn.num_features
            bn.weight.copy_(0.5 + torch.rand(n, generator=generator))
            bn.bias.copy_(0.2 * torch.randn(n, generator=generator))
            bn.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            bn.running_var.copy_(0.5 + torch.rand(n, generator=generator))


def test_parameter_count(kt):
    model = kt.build_model()
    assert model.count_params() == 4_220_385
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 4_220_161
    assert sum(p.numel() for p in DeepShadowsCNN().parameters()) == 4_220_161
    assert "TensorFlow" in kt.describe(model)


@pytest.mark.parametrize("num_classes", [1, 3])
def test_copied_weights_give_torch_probabilities(kt, num_classes):
    generator = torch.Generator().manual_seed(num_classes)
    torch.manual_seed(num_classes)
    torch_model = DeepShadowsCNN(num_classes=num_classes)
    _randomise_batchnorm(torch_model, generator)
    torch_model.eval()
    keras_model = kt.build_model(num_classes)
    kt.copy_torch_weights(keras_model, torch_model)

    rng = np.random.default_rng(num_classes)
    # Random pixels at varied per-image brightness, so the outputs differ between images.
    scale = rng.uniform(0.1, 1.0, (24, 1, 1, 3))
    images = (rng.integers(0, 256, (24, 64, 64, 3)) * scale).astype(np.uint8)
    _, probs = kt.predict_throughput(images, batch_size=16, model=keras_model)

    x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    with torch.no_grad():
        logits = torch_model(x)
    expected = (torch.sigmoid(logits) if num_classes == 1 else torch.softmax(logits, dim=1)).numpy()
    assert probs.shape == expected.shape
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-5)
    # The comparison is meaningful only if the outputs are not saturated at 0 or 1 and vary.
    assert 0.01 < expected.min() and expected.max() < 0.99
    assert np.ptp(expected) > 0.02


def test_copy_rejects_mismatched_model(kt):
    with pytest.raises(ValueError, match="head"):
        kt.copy_torch_weights(kt.build_model(1), DeepShadowsCNN(num_classes=3))


def test_fit_and_score_runs(kt):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)
    labels = np.tile([0, 1], 20)
    result = kt.fit_and_score(images[:32], labels[:32], images[32:], labels[32:], epochs=1, batch_size=16)
    assert set(result) == {"auc", "accuracy", "seconds", "images_per_second"}
    assert 0.0 <= result["auc"] <= 1.0
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["seconds"] > 0 and result["images_per_second"] > 0
