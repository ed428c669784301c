"""Training augmentation on uint8 batches: symmetries, shifts, blur, gains, noise, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepshadows.augment import AugmentConfig, Augmenter, augment_config
from deepshadows.errors import InputError

OFF = AugmentConfig(
    dihedral=False, max_shift=0, blur_fraction=0.0, gain=(1.0, 1.0), offset_sigma=0.0, noise_fraction=0.0
)


def batch(n: int = 16, size: int = 32, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8))


def as_uint8(y: torch.Tensor) -> np.ndarray:
    return (y * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_output_is_channels_last_network_input():
    x = batch()
    y = Augmenter(AugmentConfig(), seed=1)(x)
    assert y.shape == (16, 3, 32, 32) and y.dtype == torch.float32
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_everything_off_is_the_plain_conversion():
    x = batch()
    y = Augmenter(OFF)(x)
    assert torch.allclose(y, x.permute(0, 3, 1, 2).float() / 255)


def test_symmetries_are_the_eight_of_the_square_and_all_occur():
    x = batch(n=64)
    y = as_uint8(Augmenter(AugmentConfig(**{**OFF.to_dict(), "dihedral": True}), seed=3)(x))
    seen = set()
    for original, out in zip(x.numpy(), y, strict=True):
        matches = [
            (k, flip)
            for k in range(4)
            for flip in (False, True)
            if np.array_equal(np.rot90(original[:, ::-1] if flip else original, k), out)
        ]
        assert matches, "output is not a flip or rotation of its input"
        seen.add(matches[0])
    assert len(seen) == 8


def test_shifts_move_the_content_by_at_most_max_shift():
    x = torch.zeros((32, 17, 17, 3), dtype=torch.uint8)
    x[:, 8, 8] = 255
    y = as_uint8(Augmenter(AugmentConfig(**{**OFF.to_dict(), "max_shift": 2}), seed=0)(x))
    rows, cols = np.nonzero(y[..., 0].reshape(32, -1).reshape(32, 17, 17))[1:]
    positions = np.array([np.argwhere(img[..., 0] == 255)[0] for img in y])
    assert np.abs(positions - 8).max() <= 2
    assert len({tuple(p) for p in positions}) > 5
    assert rows.size == 32 and cols.size == 32  # one bright pixel each, nothing else


def test_same_seed_same_batch_and_reseed_repeats():
    x = batch()
    a, b = Augmenter(AugmentConfig(), seed=5), Augmenter(AugmentConfig(), seed=5)
    first = a(x)
    assert torch.equal(first, b(x))
    assert not torch.equal(first, a(x))
    a.reseed(5)
    assert torch.equal(first, a(x))


def test_gains_keep_the_sky_level_and_noise_adds_scatter():
    sky = torch.full((32, 24, 24, 3), 32, dtype=torch.uint8)
    gains = AugmentConfig(**{**OFF.to_dict(), "gain": (0.5, 2.0)})
    assert torch.allclose(Augmenter(gains)(sky) * 255, torch.full((32, 3, 24, 24), 32.0), atol=1e-3)
    noisy = AugmentConfig(**{**OFF.to_dict(), "noise_fraction": 1.0, "noise_sigma": (4.0, 4.0)})
    std = float((Augmenter(noisy)(sky) * 255).std())
    assert 3.5 < std < 4.5


def test_blur_smooths_pixel_noise():
    x = batch(n=8, size=32)
    blurred = AugmentConfig(**{**OFF.to_dict(), "blur_fraction": 1.0, "blur_sigma": (1.0, 1.0)})
    y = Augmenter(blurred)(x)
    plain = x.permute(0, 3, 1, 2).float() / 255
    assert float(y.diff(dim=3).abs().mean()) < 0.5 * float(plain.diff(dim=3).abs().mean())
    assert float(y.mean()) == pytest.approx(float(plain.mean()), abs=0.01)


def test_bad_input_and_mode_are_reported():
    with pytest.raises(ValueError, match="uint8"):
        Augmenter(AugmentConfig())(torch.zeros((2, 8, 8, 3)))
    with pytest.raises(InputError, match="--augment"):
        augment_config("strong")
    assert augment_config("none") is None
