"""The fine-tuning loop: a recipe end to end, its schedule, exact resume, replay and FixMatch batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tests.finetuning.conftest import cutouts, small_resnet

import deepshadows.finetuning.loop as loop_module
from deepshadows.errors import InputError
from deepshadows.finetuning import RECIPES, UnlabelledPool, fine_tune
from deepshadows.models import load_model
from deepshadows.training.schedule import lr_factor

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _record_batches(model):
    """Record the batch size of every forward pass of ``model`` (and of its fine-tuned copies)."""
    sizes: list[int] = []
    model.register_forward_pre_hook(lambda _module, args: sizes.append(int(args[0].shape[0])))
    return sizes


def _states_equal(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_adamw_recipe_runs_end_to_end(resnet):
    images, labels = cutouts(32, 2)
    start = {k: v.clone() for k, v in resnet.state_dict().items()}
    recipe = RECIPES["adamw"].replace(epochs=2, batch_size=8, lr=1e-2)
    tuned, history = fine_tune(resnet, images, labels, recipe, seed=3)
    assert not tuned.training
    assert all(torch.equal(v, resnet.state_dict()[k]) for k, v in start.items())  # the input is untouched
    moved = [k for k, v in tuned.state_dict().items() if not torch.equal(v, start[k])]
    # The recipe freezes the stem and the first two stages; the later stages and the head train.
    assert not any(k.startswith(("blocks.0.", "blocks.1.", "blocks.2.")) for k in moved)
    assert any(k.startswith("blocks.3.") for k in moved) and any(k.startswith("head.") for k in moved)
    assert [row["epoch"] for row in history] == [1, 2]
    for row in history:
        assert set(row) == {"epoch", "loss", "accuracy", "lr"}
        assert math.isfinite(row["loss"]) and row["loss"] > 0 and 0.0 <= row["accuracy"] <= 1.0


def test_the_learning_rate_warms_up_then_decays(resnet, monkeypatch):
    calls, optimizers = [], []
    real_optimizer = loop_module.make_finetune_optimizer

    def factor(step, total, **kwargs):
        calls.append((step, total, kwargs))
        return lr_factor(step, total, **kwargs)

    def optimizer(model, recipe):
        optimizers.append(real_optimizer(model, recipe))
        return optimizers[-1]

    monkeypatch.setattr(loop_module, "lr_factor", factor)
    monkeypatch.setattr(loop_module, "make_finetune_optimizer", optimizer)
    images, labels = cutouts(32, 2)  # 4 steps an epoch
    recipe = RECIPES["adamw"].replace(epochs=3, batch_size=8, warmup_epochs=1.0, layer_decay=0.5, freeze=0)
    _, history = fine_tune(resnet, images, labels, recipe)
    assert [c[0] for c in calls] == list(range(12)) and {c[1] for c in calls} == {12}
    assert all(c[2] == {"schedule": "cosine", "warmup": 4} for c in calls)
    rates = [recipe.lr * lr_factor(s, 12, schedule="cosine", warmup=4) for s in range(12)]
    assert rates[:4] == sorted(rates[:4]) and rates[0] < rates[3] == recipe.lr  # linear warm-up
    assert rates[3:] == sorted(rates[3:], reverse=True) and rates[-1] < rates[4]  # cosine decay
    # Each epoch's row holds the rate of its last step.
    assert [row["lr"] for row in history] == pytest.approx([rates[3], rates[7], rates[11]])
    # Every parameter group ran at its share of the scheduled rate.
    for group in optimizers[0].param_groups:
        assert group["lr"] == pytest.approx(rates[11] * group["lr_scale"])
    scales = sorted({g["lr_scale"] for g in optimizers[0].param_groups})
    assert scales == pytest.approx([0.5**k for k in range(5, -1, -1)])


def test_the_paper_recipe_keeps_a_constant_rate(model_dir):
    model, _ = load_model(model_dir)
    images, labels = cutouts(20, 4)
    sizes = _record_batches(model)
    _, history = fine_tune(model, images, labels, RECIPES["paper"].replace(epochs=2, batch_size=8))
    assert [row["lr"] for row in history] == [0.005, 0.005]
    assert sizes == [8, 8, 4] * 2  # one plain pass over the 20 labels an epoch


@pytest.mark.parametrize("setup", ["resnet-streams", "table1-paper"])
def test_resume_ends_where_a_straight_run_ends(setup, model_dir, tmp_path):
    images, labels = cutouts(24, 6)
    kwargs: dict = {}
    if setup == "resnet-streams":
        model = small_resnet(1)
        recipe = RECIPES["adamw"].replace(epochs=4, batch_size=8, min_steps=3, confidence=0.5)
        replay_images, replay_labels = cutouts(12, 7)
        kwargs = {"replay": (replay_images, replay_labels), "unlabelled": cutouts(10, 8)[0]}
    else:
        model, _ = load_model(model_dir)
        recipe = RECIPES["paper"].replace(epochs=4, batch_size=8)
    straight, history = fine_tune(
        model, images, labels, recipe, seed=5, checkpoint=tmp_path / "straight.pt", **kwargs
    )
    assert len(history) == 4 and (tmp_path / "straight.pt").is_file()

    ckpt = tmp_path / "interrupted.pt"
    stopped, first = fine_tune(
        model,
        images,
        labels,
        recipe,
        seed=5,
        checkpoint=ckpt,
        on_epoch=lambda epoch, _model, _row: epoch == 2,
        **kwargs,
    )
    assert len(first) == 2 and not _states_equal(stopped, straight)
    resumed, rest = fine_tune(model, images, labels, recipe, seed=5, checkpoint=ckpt, resume=True, **kwargs)
    assert _states_equal(resumed, straight)
    assert rest == history

    with pytest.raises(InputError, match="another recipe or seed"):
        fine_tune(model, images, labels, recipe, seed=6, checkpoint=ckpt, resume=True, **kwargs)
    with pytest.raises(InputError, match="another recipe or seed"):
        fine_tune(
            model, images, labels, recipe.replace(lr=0.1), seed=5, checkpoint=ckpt, resume=True, **kwargs
        )


def test_unlabelled_batches_join_every_step(resnet):
    images, labels = cutouts(16, 2)  # 2 labelled steps, raised to min_steps
    recipe = RECIPES["adamw"].replace(epochs=2, batch_size=8, unlabelled_ratio=2, min_steps=3, confidence=0.5)
    sizes = _record_batches(resnet)
    _, history = fine_tune(resnet, images, labels, recipe, unlabelled=cutouts(20, 9)[0])
    assert sizes == [8 + 2 * 2 * 8] * 3 * 2  # labelled + weak and strong views of 16 unlabelled
    for row in history:
        assert {"unlabelled_loss", "confident_fraction", "pseudo_lsbg_fraction"} <= set(row)
        assert row["confident_fraction"] == 1.0  # a threshold of 0.5 trusts every pseudo-label
        assert 0.0 <= row["pseudo_lsbg_fraction"] <= 1.0 and row["unlabelled_loss"] > 0


def test_a_strict_threshold_trusts_no_untrained_guess(resnet):
    images, labels = cutouts(16, 2)
    recipe = RECIPES["adamw"].replace(epochs=1, batch_size=8, min_steps=2, confidence=1.0)
    _, history = fine_tune(resnet, images, labels, recipe, unlabelled=UnlabelledPool(cutouts(20, 9)[0]))
    assert history[0]["confident_fraction"] == 0.0 and history[0]["unlabelled_loss"] == 0.0


def test_replayed_cutouts_join_every_step(resnet):
    images, labels = cutouts(16, 2)
    replay = cutouts(10, 11)
    recipe = RECIPES["adamw"].replace(epochs=1, batch_size=8, replay_fraction=0.25, min_steps=4)
    sizes = _record_batches(resnet)
    _, history = fine_tune(resnet, images, labels, recipe, replay=replay)
    assert sizes == [8 + round(8 * 0.25 / 0.75)] * 4  # 3 replayed cutouts beside 8 labelled
    assert 0.0 <= history[0]["accuracy"] <= 1.0 and "unlabelled_loss" not in history[0]

    both = RECIPES["adamw"].replace(
        epochs=1, batch_size=8, replay_fraction=0.5, unlabelled_ratio=1, min_steps=2
    )
    sizes.clear()
    fine_tune(resnet, images, labels, both, replay=replay, unlabelled=cutouts(8, 12)[0])
    assert sizes == [8 + 8 + 2 * 8] * 2


def test_zero_labels_with_replay_or_unlabelled_cutouts(resnet):
    empty = np.zeros((0, 16, 16, 3), dtype=np.uint8)
    recipe = RECIPES["adamw"].replace(epochs=2, batch_size=8, min_steps=3)
    sizes = _record_batches(resnet)
    tuned, history = fine_tune(resnet, empty, np.zeros(0), recipe, replay=cutouts(12, 13))
    assert sizes == [8] * 6  # a whole batch of replayed cutouts each step
    assert len(history) == 2 and all(math.isfinite(r["loss"]) for r in history)
    assert not _states_equal(tuned, resnet)

    sizes.clear()
    recipe = recipe.replace(unlabelled_ratio=1, confidence=0.5)
    _, history = fine_tune(resnet, empty, np.zeros(0), recipe, unlabelled=cutouts(12, 14)[0])
    assert sizes == [2 * 8] * 6 and history[0]["confident_fraction"] == 1.0

    with pytest.raises(InputError, match="sample is empty"):
        fine_tune(resnet, empty, np.zeros(0), recipe)
    with pytest.raises(InputError, match="3 cutouts but 2 labels"):
        fine_tune(resnet, cutouts(3, 1)[0], np.zeros(2), recipe)
