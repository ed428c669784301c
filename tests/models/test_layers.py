from __future__ import annotations

import pytest
import torch

from deepshadows.models.layers import FastDropout


def test_drops_the_requested_fraction_and_rescales_the_rest() -> None:
    torch.manual_seed(0)
    layer = FastDropout(0.4).train()
    x = torch.ones(64, 16, 32, 32)
    y = layer(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.4) < 0.002  # 1M draws: sd 5e-4
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.6))


def test_identity_in_evaluation_mode_and_for_zero_rate() -> None:
    x = torch.randn(4, 3, 8, 8)
    assert FastDropout(0.4).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x


def test_gradient_is_the_mask_times_the_scale() -> None:
    torch.manual_seed(1)
    x = torch.randn(8, 4, 6, 6, requires_grad=True)
    y = FastDropout(0.25).train()(x)
    y.sum().backward()
    expected = (y.detach() != 0).float() / 0.75
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("channels_last", [False, True])
def test_seeded_masks_repeat_and_keep_the_layout(channels_last: bool) -> None:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(5, 3, 7, 9).contiguous(memory_format=fmt)  # 945 elements: not a multiple of 4
    layer = FastDropout(0.5).train()
    torch.manual_seed(3)
    a = layer(x)
    torch.manual_seed(3)
    b = layer(x)
    assert torch.equal(a, b)
    assert a.is_contiguous(memory_format=fmt)
    torch.manual_seed(4)
    assert not torch.equal(a, layer(x))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_rejects_a_rate_outside_zero_one(p: float) -> None:
    with pytest.raises(ValueError, match="dropout probability"):
        FastDropout(p)
