"""Which parameters a fine-tuning trains, at which share of the learning rate."""

from __future__ import annotations

import pytest
import torch
from tests.finetuning.conftest import cutouts

from deepshadows.errors import InputError
from deepshadows.finetuning import RECIPES, fine_tune
from deepshadows.finetuning.groups import frozen_stages, make_finetune_optimizer, stages

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _group_of(optimizer):
    """The parameter group of every parameter, by id."""
    return {id(p): g for g in optimizer.param_groups for p in g["params"]}


def test_layer_decay_scales_by_stage(resnet):
    n = len(stages(resnet))
    assert n == 5  # the stem and four stages
    optimizer = make_finetune_optimizer(resnet, RECIPES["adamw"].replace(layer_decay=0.5, freeze=0))
    group = _group_of(optimizer)
    for name, p in resnet.named_parameters():
        scale = group[id(p)]["lr_scale"]
        if name.startswith("blocks."):
            i = int(name.split(".")[1])
            assert scale == pytest.approx(0.5 ** (n - i)), name
        else:
            assert name.split(".")[0] in ("fc", "head") and scale == 1.0, name
    assert group[id(resnet.blocks[0][0].weight)]["lr_scale"] == pytest.approx(0.5**n)  # the stem
    assert group[id(resnet.head.weight)]["lr_scale"] == 1.0
    assert len(group) == sum(1 for _ in resnet.parameters())  # every parameter trains


@pytest.mark.parametrize("layer_decay", [1.0, 0.5])
def test_weight_decay_spares_one_dimensional_parameters(resnet, layer_decay):
    recipe = RECIPES["adamw"].replace(weight_decay=0.07, layer_decay=layer_decay, freeze=0)
    optimizer = make_finetune_optimizer(resnet, recipe)
    assert isinstance(optimizer, torch.optim.AdamW)
    group = _group_of(optimizer)
    for name, p in resnet.named_parameters():
        assert group[id(p)]["weight_decay"] == (0.0 if p.ndim <= 1 else 0.07), name


def test_the_paper_recipe_takes_one_rate(model_dir):
    from deepshadows.models import load_model

    model, _ = load_model(model_dir)
    optimizer = make_finetune_optimizer(model, RECIPES["paper"].replace(freeze=1))
    assert getattr(optimizer, "folds_l2_penalty", False)  # Keras Adadelta with the model's L2
    assert {g["lr_scale"] for g in optimizer.param_groups} == {1.0}
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert not trained & {id(p) for p in model.blocks[0].parameters()}
    assert {id(p) for p in model.head.parameters()} <= trained


def _bn_stats(module):
    return [
        (m.running_mean.clone(), m.running_var.clone())
        for m in module.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ]


def _same(a, b):
    return all(
        torch.equal(x, y)
        for pair_a, pair_b in zip(a, b, strict=True)
        for x, y in zip(pair_a, pair_b, strict=True)
    )


def test_frozen_stages_keep_weights_and_batch_statistics(resnet):
    images, labels = cutouts(24, 2)
    recipe = RECIPES["adamw"].replace(freeze=2, epochs=1, batch_size=8, lr=1e-2)
    assert frozen_stages(resnet, recipe) == list(resnet.blocks)[:2]
    tuned, _ = fine_tune(resnet, images, labels, recipe)
    for i in range(5):
        before, after = resnet.blocks[i], tuned.blocks[i]
        if i < 2:
            assert not any(p.requires_grad for p in after.parameters())
            assert all(
                torch.equal(p, q) for p, q in zip(before.parameters(), after.parameters(), strict=True)
            )
            assert _same(_bn_stats(before), _bn_stats(after)), f"stage {i} statistics moved"
        else:
            assert all(p.requires_grad for p in after.parameters())
            assert not _same(_bn_stats(before), _bn_stats(after)), f"stage {i} statistics did not move"
    assert not torch.equal(resnet.head.weight, tuned.head.weight)


def test_freeze_all_trains_the_dense_layers_only(resnet):
    recipe = RECIPES["adamw"].replace(freeze=-1, epochs=1, batch_size=8, lr=1e-2)
    optimizer = make_finetune_optimizer(resnet, recipe)
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    dense = {id(p) for name, p in resnet.named_parameters() if name.split(".")[0] in ("fc", "head")}
    assert trained == dense

    images, labels = cutouts(16, 3)
    tuned, _ = fine_tune(resnet, images, labels, recipe)  # the given model is left unchanged
    after = tuned.state_dict()
    for name, value in resnet.state_dict().items():
        moved = not torch.equal(value, after[name])
        assert moved == (name.split(".")[0] in ("fc", "head")), name


def test_freezing_more_stages_than_there_are_is_refused(resnet):
    with pytest.raises(InputError, match="--freeze: CompactResNet has 5 stages, got 6"):
        make_finetune_optimizer(resnet, RECIPES["adamw"].replace(freeze=6))
    with pytest.raises(InputError, match="blocks"):
        make_finetune_optimizer(torch.nn.Linear(3, 1), RECIPES["adamw"].replace(layer_decay=0.5, freeze=0))
