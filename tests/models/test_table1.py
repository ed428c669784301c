from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.models import DeepShadowsCNN, create_model, list_models, register_model
from deepshadows.models.layers import FastDropout
from deepshadows.training.loop import train_one_epoch

NAME = "deepshadows-table1"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model() -> DeepShadowsCNN:
    torch.manual_seed(0)
    return create_model(NAME)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def n_running(module: nn.Module) -> int:
    return sum(b.numel() for name, b in module.named_buffers() if name.split(".")[-1].startswith("running_"))


# -- architecture ------------------------------------------------------------------------------


def test_parameter_counts_match_table1(model: DeepShadowsCNN) -> None:
    assert n_params(model) == 4_220_161
    assert n_running(model) == 224
    assert n_params(model) + n_running(model) == 4_220_385  # the Keras total
    # Row by row: Keras counts a BatchNorm layer's running mean and variance as parameters.
    blocks = model.blocks
    assert [n_params(b.conv) for b in blocks] == [448, 4640, 18496]
    assert [n_params(b.bn) + n_running(b.bn) for b in blocks] == [64, 128, 256]
    assert n_params(model.fc) == 4_195_328
    assert n_params(model.head) == 1025


def test_layer_order_and_keras_hyperparameters(model: DeepShadowsCNN) -> None:
    for block, filters in zip(model.blocks, (16, 32, 64), strict=True):
        kinds = [type(m) for m in block.children()]
        assert kinds == [nn.Conv2d, nn.ReLU, nn.BatchNorm2d, nn.MaxPool2d, FastDropout]
        assert block.conv.out_channels == filters
        assert block.conv.kernel_size == (3, 3)
        assert block.conv.padding == "same"
        assert block.pool.kernel_size == 2
        assert block.drop.p == pytest.approx(0.4)
        assert block.bn.momentum == pytest.approx(0.01)  # Keras momentum 0.99
        assert block.bn.eps == pytest.approx(1e-3)
    assert (model.fc.in_features, model.fc.out_features) == (4096, 1024)
    assert (model.head.in_features, model.head.out_features) == (1024, 1)


def test_keras_initialisation() -> None:
    torch.manual_seed(1)
    model = DeepShadowsCNN()
    layers = [b.conv for b in model.blocks] + [model.fc, model.head]
    for layer in layers:
        w = layer.weight.detach()
        fan_in = w.shape[1] * w[0, 0].numel()
        fan_out = w.shape[0] * w[0, 0].numel()
        bound = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
        assert w.abs().max() <= bound
        # A uniform distribution on [-a, a] has standard deviation a / sqrt(3).
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)
        assert abs(w.mean().item()) < 0.1 * bound
        assert torch.count_nonzero(layer.bias) == 0
    for block in model.blocks:
        assert torch.equal(block.bn.weight, torch.ones_like(block.bn.weight))
        assert torch.count_nonzero(block.bn.bias) == 0
        assert torch.count_nonzero(block.bn.running_mean) == 0
        assert torch.equal(block.bn.running_var, torch.ones_like(block.bn.running_var))


def test_l2_penalty_by_hand() -> None:
    model = DeepShadowsCNN(image_size=8, conv_l2=0.13, dense_l2=0.12)  # fc: 64 -> 1024
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(5.0)  # biases, BatchNorm and the output layer must not count
        for block in model.blocks:
            block.conv.weight.fill_(0.1)
        model.fc.weight.fill_(0.2)
    n_conv = 3 * 16 * 9 + 16 * 32 * 9 + 32 * 64 * 9
    expected = 0.13 * n_conv * 0.1**2 + 0.12 * 64 * 1024 * 0.2**2
    penalty = model.l2_penalty()
    assert penalty.item() == pytest.approx(expected, rel=1e-5)
    penalty.backward()
    assert model.fc.weight.grad is not None
    assert model.fc.weight.grad[0, 0].item() == pytest.approx(2 * 0.12 * 0.2)
    assert model.head.weight.grad is None
    other = DeepShadowsCNN(image_size=8, conv_l2=0.0, dense_l2=1.0)
    with torch.no_grad():
        other.fc.weight.fill_(0.5)
    assert other.l2_penalty().item() == pytest.approx(64 * 1024 * 0.25)


def test_flatten_is_channels_last(model: DeepShadowsCNN) -> None:
    # Row (h * W + w) * C + c of a Keras Dense kernel (its column here) reads feature [c, h, w].
    c, h, w = 5, 2, 7
    features = torch.zeros(1, 64, 8, 8)
    features[0, c, h, w] = 1.0
    with torch.no_grad():
        got = model.forward_head(features, pre_logits=True)
        expected = torch.relu(model.fc.weight[:, (h * 8 + w) * 64 + c] + model.fc.bias)
    torch.testing.assert_close(got[0], expected)


# -- forward and backward ----------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [1, 3])
def test_forward_shapes_and_gradients(num_classes: int) -> None:
    torch.manual_seed(2)
    model = create_model(NAME, num_classes=num_classes).train()
    x = torch.rand(4, 3, 64, 64)
    features = model.forward_features(x)
    assert features.shape == (4, 64, 8, 8)
    assert model.forward_head(features, pre_logits=True).shape == (4, 1024)
    logits = model(x)
    assert logits.shape == ((4,) if num_classes == 1 else (4, num_classes))
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_contract_attributes(model: DeepShadowsCNN) -> None:
    assert (model.num_classes, model.in_chans, model.image_size) == (1, 3, 64)
    assert model.architecture == NAME
    assert model.model_kwargs == {
        "in_chans": 3,
        "num_classes": 1,
        "image_size": 64,
        "drop_rate": 0.4,
        "conv_l2": 0.13,
        "dense_l2": 0.12,
    }
    assert isinstance(model.gradcam_layer, nn.ReLU)
    assert model.gradcam_layer is model.blocks[-1].act
    seen = []
    handle = model.gradcam_layer.register_forward_hook(lambda _m, _i, out: seen.append(out.shape))
    with torch.no_grad():
        model.eval()(torch.rand(2, 3, 64, 64))
    handle.remove()
    assert seen == [torch.Size([2, 64, 16, 16])]


def test_eval_is_deterministic_and_train_is_not(model: DeepShadowsCNN) -> None:
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x), model(x))
        model.train()
        assert not torch.equal(model(x), model(x))  # dropout
    model.eval()


def test_one_batch_overfits() -> None:
    # The paper's optimiser and L2 penalties; dropout off so the loss path is deterministic.
    torch.manual_seed(0)
    model = create_model(NAME, drop_rate=0.0)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1, rho=0.95, eps=1e-7)
    x = torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1] * 4)
    losses = [
        train_one_epoch(model, [(x, y)], optimizer, device=torch.device("cpu"))["loss"] for _ in range(30)
    ]
    assert all(math.isfinite(v) for v in losses)
    assert max(losses[-3:]) < 0.2 * losses[0]


# -- registry and arguments --------------------------------------------------------------------


def test_registry() -> None:
    assert NAME in list_models()
    assert isinstance(create_model(NAME, image_size=16), DeepShadowsCNN)
    with pytest.raises(InputError, match=NAME):
        create_model("resnet-9000")
    with pytest.raises(ValueError, match="already registered"):
        register_model(NAME)(lambda: nn.Identity())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"image_size": 60}, "image_size"),
        ({"num_classes": 0}, "num_classes"),
        ({"in_chans": 0}, "in_chans"),
        ({"drop_rate": 1.0}, "drop_rate"),
        ({"conv_l2": -1.0}, "conv_l2"),
        ({"dense_l2": float("nan")}, "dense_l2"),
    ],
)
def test_invalid_arguments(kwargs: dict, name: str) -> None:
    with pytest.raises(InputError, match=name):
        DeepShadowsCNN(**kwargs)


def test_other_input_sizes() -> None:
    model = DeepShadowsCNN(image_size=32, in_chans=1, num_classes=3).eval()
    assert model.fc.in_features == 64 * 4 * 4
    with torch.no_grad():
        assert model(torch.rand(2, 1, 32, 32)).shape == (2, 3)


@pytest.mark.parametrize("negative_scale_block", [None, 0, 2])
def test_inference_module_gives_the_same_logits(negative_scale_block: int | None) -> None:
    """BatchNorm after the pooling and folded into the dense layer, 1/255 into the first conv."""
    torch.manual_seed(0)
    model = create_model("deepshadows-table1", num_classes=3)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for block in model.blocks:
            c = block.bn.num_features
            block.bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
            block.bn.running_var.copy_(torch.rand(c, generator=gen) * 2 + 0.2)
            block.bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            block.bn.bias.copy_(torch.randn(c, generator=gen) * 0.3)
        if negative_scale_block is not None:  # max pooling and a negative scale do not commute
            model.blocks[negative_scale_block].bn.weight[1] = -0.7
    model.eval()
    pixels = torch.randint(0, 256, (16, 3, 64, 64), generator=gen).float()
    fast = model.inference_module(input_scale=1 / 255)
    assert fast.after_pool == [i != negative_scale_block for i in range(3)]
    with torch.no_grad():
        expected = model(pixels / 255)
        torch.testing.assert_close(fast(pixels), expected, rtol=0, atol=1e-5)
    assert expected.std() > 1e-3
    assert all(not p.requires_grad or p.grad is None for p in fast.parameters())
    assert not any(p is q for p in fast.parameters() for q in model.parameters())
