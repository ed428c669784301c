from __future__ import annotations

import pytest
import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.models import CompactResNet, create_model, list_models, load_model, save_model
from deepshadows.training.loop import train_one_epoch
from deepshadows.training.schedule import make_adamw

NAME = "compact-resnet"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture(scope="module")
def model() -> CompactResNet:
    torch.manual_seed(0)
    return create_model(NAME).eval()


def test_registered_beside_table1(model: CompactResNet) -> None:
    assert {NAME, "deepshadows-table1"} <= set(list_models())
    assert isinstance(model, CompactResNet) and model.architecture == NAME
    assert CompactResNet.training_defaults["optimizer"] == "adamw"


def test_parameter_count(model: CompactResNet) -> None:
    assert n_params(model) == 906_489
    assert 300_000 <= n_params(model) <= 1_500_000


@pytest.mark.parametrize("num_classes", [1, 3])
def test_output_shapes(num_classes: int) -> None:
    net = create_model(NAME, num_classes=num_classes).eval()
    x = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        logits = net(x)
        features = net.forward_features(x)
        embedding = net.forward_head(features, pre_logits=True)
    assert logits.shape == ((4,) if num_classes == 1 else (4, num_classes))
    assert features.shape == (4, 192, 4, 4)
    assert embedding.shape == (4, 256)
    assert net.head(embedding).shape == (4, num_classes)
    assert torch.isfinite(logits).all()


def test_other_sizes_and_channels() -> None:
    net = create_model(NAME, in_chans=1, image_size=32, widths=(8, 16), depths=(1, 1), hidden=8).eval()
    with torch.no_grad():
        assert net(torch.rand(2, 1, 32, 32)).shape == (2,)
    assert net.model_kwargs["widths"] == [8, 16]


def test_channels_last_and_eval_are_deterministic(model: CompactResNet) -> None:
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        a = model(x)
        b = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(1)
    net = create_model(NAME, num_classes=3).train()
    net(torch.rand(4, 3, 64, 64)).logsumexp(1).sum().backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None]
    assert not missing


def test_gradcam_layer_is_the_last_block_output(model: CompactResNet) -> None:
    seen = []
    handle = model.gradcam_layer.register_forward_hook(lambda _m, _i, out: seen.append(out.shape))
    with torch.no_grad():
        model(torch.rand(2, 3, 64, 64))
    handle.remove()
    assert seen == [torch.Size([2, 192, 4, 4])]


def test_no_weight_decay_spares_biases_and_norms(model: CompactResNet) -> None:
    spared = model.no_weight_decay()
    assert "head.bias" in spared and "blocks.0.1.weight" in spared  # stem BatchNorm scale
    assert "head.weight" not in spared and "blocks.0.0.weight" not in spared
    groups = make_adamw(model, lr=1e-3, weight_decay=0.05).param_groups
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_save_load_round_trip(model: CompactResNet, tmp_path) -> None:
    path = save_model(model, tmp_path / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]})
    loaded, meta = load_model(path)
    assert meta["architecture"] == NAME and meta["model_kwargs"] == model.model_kwargs
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_overfits_one_batch() -> None:
    torch.manual_seed(2)
    net = create_model(NAME, widths=(8, 16, 16, 32), hidden=16, drop_rate=0.0)
    x = torch.rand(8, 3, 64, 64)
    y = torch.tensor([0, 1] * 4)
    optimizer = make_adamw(net, lr=3e-3, weight_decay=0.0)
    first = train_one_epoch(net, [(x, y)], optimizer, device=torch.device("cpu"))["loss"]
    for _ in range(25):
        last = train_one_epoch(net, [(x, y)], optimizer, device=torch.device("cpu"))["loss"]
    assert last < 0.5 * first


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_chans": 0}, "in_chans"),
        ({"num_classes": 0}, "num_classes"),
        ({"image_size": 40}, "image_size"),
        ({"widths": ()}, "widths"),
        ({"depths": (1, 1)}, "depths"),
        ({"hidden": 0}, "hidden"),
        ({"drop_rate": 1.0}, "drop_rate"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(InputError, match=name):
        CompactResNet(**kwargs)
