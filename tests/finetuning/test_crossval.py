"""Stratified folds, label subsamples and the cross-validation of a recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.finetuning.conftest import cutouts

from deepshadows.errors import InputError
from deepshadows.finetuning import RECIPES, cross_validate, stratified_folds, subsample
from deepshadows.finetuning.crossval import CV_METRICS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _spread(fold, mask, k):
    counts = np.bincount(fold[mask], minlength=k)
    return counts.max() - counts.min()


def test_folds_are_stratified_and_seeded():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 37 + [1] * 18)
    strata = rng.choice(["random", "edge", "faint"], size=labels.size)
    k = 5
    fold = stratified_folds(labels, k, 3, strata=strata)
    assert fold.shape == labels.shape and set(fold.tolist()) == set(range(k))
    assert _spread(fold, np.ones(labels.size, bool), k) <= 1
    for c in (0, 1):
        assert _spread(fold, labels == c, k) <= 1
        for s in set(strata):
            assert _spread(fold, (labels == c) & (strata == s), k) <= 1, (c, s)
    assert np.array_equal(fold, stratified_folds(labels, k, 3, strata=strata))
    assert not np.array_equal(fold, stratified_folds(labels, k, 4, strata=strata))
    plain = stratified_folds(labels, k, 3)
    assert all(_spread(plain, labels == c, k) <= 1 for c in (0, 1))


@pytest.mark.parametrize("k", [1, 19])
def test_too_many_folds_are_refused(k):
    labels = np.array([0] * 37 + [1] * 18)
    with pytest.raises(InputError, match=rf"--cv: needs 2 <= K <= 18 \(the smallest class\), got {k}"):
        stratified_folds(labels, k, 0)


def test_subsample_keeps_the_class_proportions():
    labels = np.array([0] * 60 + [1] * 20)
    keep = subsample(labels, 20, seed=2)
    assert np.bincount(labels[keep]).tolist() == [15, 5]
    assert np.array_equal(keep, np.sort(keep)) and len(set(keep.tolist())) == 20
    assert np.array_equal(keep, subsample(labels, 20, seed=2))
    assert not np.array_equal(keep, subsample(labels, 20, seed=3))
    assert np.array_equal(subsample(labels, None, 0), np.arange(80))
    assert np.array_equal(subsample(labels, 500, 0), np.arange(80))


def test_cross_validate_scores_every_object(resnet):
    images, labels = cutouts(24, 3)
    kind = np.where(np.arange(24) < 12, "a", "b")
    recipe = RECIPES["adamw"].replace(epochs=1, batch_size=8)
    lines = []
    cv = cross_validate(
        resnet, images, labels, recipe, k=2, seeds=[0, 1], groups={"kind": kind}, progress=lines.append
    )
    assert cv.probabilities.shape == (2, 24) and cv.k == 2 and cv.seeds == [0, 1]
    assert np.isfinite(cv.probabilities).all()
    assert ((cv.probabilities >= 0) & (cv.probabilities <= 1)).all()
    assert len(lines) == 4 and lines[0].startswith("seed 0 fold 1/2: 12 labels, held-out accuracy")
    summary = cv.summary()
    assert set(summary) == {"all", "kind=a", "kind=b"}
    assert (summary["all"]["n"], summary["all"]["n_lsbg"], summary["kind=a"]["n"]) == (24, 12, 12)
    for entry in summary.values():
        for metric in CV_METRICS:
            values = np.array(entry[metric]["per_seed"], dtype=float)
            assert len(values) == 2
            finite = values[np.isfinite(values)]  # purity is NaN where nothing is called an LSBG
            mean = finite.mean() if finite.size else np.nan
            sd = finite.std(ddof=1) if finite.size > 1 else 0.0
            assert entry[metric]["mean"] == pytest.approx(mean, nan_ok=True)
            assert entry[metric]["sd"] == pytest.approx(sd)
    assert summary["all"]["accuracy"]["per_seed"] == pytest.approx(
        [((p > 0.5) == labels).mean() for p in cv.probabilities]
    )
    record = json.loads(json.dumps(cv.to_dict()))
    assert record["settings"]["recipe"] == recipe.to_dict() and record["settings"]["unlabelled"] is None
    # The folds and the fine-tunings depend on the seeds alone.
    again = cross_validate(resnet, images, labels, recipe, k=2, seeds=[0, 1])
    assert np.array_equal(cv.probabilities, again.probabilities)


def test_cross_validate_with_the_held_out_fold_as_unlabelled_sky(resnet):
    images, labels = cutouts(16, 4)
    recipe = RECIPES["adamw"].replace(epochs=1, batch_size=8, min_steps=1, unlabelled_ratio=1)
    sizes: list[int] = []
    resnet.register_forward_pre_hook(lambda _m, args: sizes.append(int(args[0].shape[0])))
    cv = cross_validate(resnet, images, labels, recipe, k=2, seeds=[0], unlabelled="held-out")
    assert np.isfinite(cv.probabilities).all() and cv.summary()["all"]["accuracy"]["sd"] == 0.0
    assert cv.settings["unlabelled"] == "held-out"
    assert 8 + 2 * 8 in sizes  # training steps carried weak and strong views of the held-out fold
    with pytest.raises(InputError, match="held-out"):
        cross_validate(resnet, images, labels, recipe, k=2, seeds=[0], unlabelled="elsewhere")
