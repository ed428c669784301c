from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.errors import InputError
from deepshadows.explain import confident_groups, explain_run, gradcam
from deepshadows.models import create_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(num_classes: int = 1, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = create_model("deepshadows-table1", num_classes=num_classes, image_size=32)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for block in model.blocks:
            c = block.bn.num_features
            block.bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            block.bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    return model.eval()


def _images(n: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize(("num_classes", "target"), [(1, 1), (1, 0), (3, 0), (3, 2)])
def test_maps_equal_captum_layer_gradcam(num_classes: int, target: int) -> None:
    """An independent implementation (captum's LayerGradCam) on the same model, layer and inputs."""
    captum_attr = pytest.importorskip("captum.attr")
    model = _model(num_classes)
    images = _images(6)
    ours, classes = gradcam(model, images, target=target, batch_size=4)
    assert (classes == target).all() and ours.shape == (6, 32, 32)

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    if num_classes == 1:  # one logit: the LSBG score is the logit, the artifact score its negative
        sign = 1.0 if target == 1 else -1.0
        forward, captum_target = (lambda t: sign * model(t)), None
    else:
        forward, captum_target = model, target
    explainer = captum_attr.LayerGradCam(forward, model.gradcam_layer)
    attribution = explainer.attribute(x, target=captum_target, relu_attributions=True)
    theirs = captum_attr.LayerAttribution.interpolate(attribution, (32, 32), interpolate_mode="bilinear")
    reference = theirs[:, 0].detach().numpy()
    assert reference.max() > 0
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6 * reference.max())


def test_predicted_class_is_explained_by_default() -> None:
    model = _model(3)
    images = _images(5)
    _, classes = gradcam(model, images)
    with torch.no_grad():
        expected = model(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255).argmax(1).numpy()
    np.testing.assert_array_equal(classes, expected)
    small, _ = gradcam(model, images, upsample=False)
    assert small.shape == (5, 8, 8) and (small >= 0).all()  # the last convolution runs at 1/4 of the side


def test_a_model_without_a_gradcam_layer_needs_one() -> None:
    bare = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    with pytest.raises(InputError, match="gradcam_layer"):
        gradcam(bare, _images(2))
    maps, _ = gradcam(bare, _images(2), layer=bare[0])
    assert maps.shape == (2, 32, 32)


def test_confident_groups_follow_figure_6() -> None:
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.1, 0.95, 0.05, 0.5, 0.5])
    groups = confident_groups(y, p, ["artifact", "lsbg"])
    assert {k: v.tolist() for k, v in groups.items()} == {
        "true_positives": [0],
        "false_negatives": [1],
        "false_positives": [2],
        "true_negatives": [3],
    }
    three = confident_groups(
        np.array([0, 2]), np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05]]), ["a", "b", "c"]
    )
    assert {k: v.tolist() for k, v in three.items()} == {"true_a_predicted_a": [0], "true_c_predicted_b": [1]}


def _store(tmp_path: Path, n: int = 40) -> Path:
    from deepshadows.data import StoreWriter

    images = _images(n, seed=5)
    with StoreWriter(
        tmp_path / "s.h5",
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {}},
        image_shape=(32, 32, 3),
    ) as writer:
        writer.append(
            {
                "images": images,
                "label": np.array([0, 1] * (n // 2)),
                "kind": np.array(["type2", "lsbg"] * (n // 2)),
                "subclass": np.array(["A", ""] * (n // 2)),
                "id": np.array([f"o{i}" for i in range(n)]),
            }
        )
        return writer.finalize(np.array(["test"] * n), split_fractions=None, split_seed=None)


def test_explain_writes_galleries(tmp_path: Path) -> None:
    from deepshadows.cli.main import main

    n = 40
    store = _store(tmp_path, n)
    model = _model(1)
    with torch.no_grad():  # a large head bias: every object confidently "LSBG"
        model.head.bias.fill_(5.0)
    save_model(model, tmp_path / "run" / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]})
    result = explain_run(tmp_path / "run", store, tmp_path / "explain", per_group=3)
    assert set(result["groups"]) == {"true_positives", "false_positives"}
    for name, group in result["groups"].items():
        assert group["size"] == n // 2 and len(group["shown"]) == 3
        assert (tmp_path / "explain" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        json.loads((tmp_path / "explain" / "explain.json").read_text())["groups"].keys()
        == result["groups"].keys()
    )
    args = ["explain", str(tmp_path / "run"), "--data", str(store), "--out", str(tmp_path / "cli")]
    assert main(args) == 0
    assert main([*args, "--per-group", "0"]) == 1


def test_explain_on_an_unconfident_model_says_why_and_draws_the_most_confident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepshadows.cli.main import main

    store = _store(tmp_path, 40)
    model = _model(1)
    with torch.no_grad():  # a barely trained model: every probability close to 0.5
        model.head.weight.mul_(1e-3)
        model.head.bias.zero_()
    save_model(model, tmp_path / "run" / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]})
    result = explain_run(tmp_path / "run", store, tmp_path / "explain", per_group=3)
    assert set(result["groups"]) == {"most_confident_artifact", "most_confident_lsbg"}
    for name, group in result["groups"].items():
        assert not group["confident"] and len(group["shown"]) == 3
        assert (tmp_path / "explain" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    note = result["notes"][0]
    assert "true_positives (no LSBG with P > 0.8)" in note and "false_negatives" in note
    assert "0 of the 40 test objects have P(LSBG) > 0.8 and 0 have P(LSBG) < 0.2" in note
    assert "--high" in note and "--low" in note
    assert json.loads((tmp_path / "explain" / "explain.json").read_text())["notes"] == result["notes"]

    args = ["explain", str(tmp_path / "run"), "--data", str(store), "--out", str(tmp_path / "cli")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "note: empty galleries" in out and "most_confident_lsbg" in out
