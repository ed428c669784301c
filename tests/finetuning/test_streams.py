"""Where a fine-tuning's cutouts come from: the labelled order, replayed simulations, the unlabelled pool."""

from __future__ import annotations

import numpy as np
import pytest
from tests.finetuning.conftest import cutouts, write_store, write_train_store

import deepshadows.finetuning.streams as streams
from deepshadows.errors import InputError
from deepshadows.finetuning import UnlabelledPool, load_replay
from deepshadows.finetuning.streams import labelled_order


def _row_of(images):
    """Map each cutout's bytes to its row (the synthetic cutouts are all different)."""
    lookup = {img.tobytes(): i for i, img in enumerate(images)}
    assert len(lookup) == len(images)
    return lambda batch: [lookup[img.tobytes()] for img in batch]


def test_balanced_draws_give_both_classes_the_same_share():
    labels = np.array([0] * 90 + [1] * 10)
    order = labelled_order(labels, 10_000, np.random.default_rng(0), balance=True)
    assert order.shape == (10_000,) and order.min() >= 0 and order.max() < 100
    share = labels[order].mean()
    assert share == pytest.approx(0.5, abs=0.03)
    # Within a class every member is drawn about equally often.
    counts = np.bincount(order, minlength=100)
    assert counts[90:].min() > 0.5 * counts[90:].mean() and counts[:90].min() > 0


def test_unbalanced_draws_are_passes_in_a_fresh_order():
    labels = np.array([0] * 9 + [1] * 3)
    order = labelled_order(labels, 30, np.random.default_rng(1), balance=False)
    assert len(order) == 30
    assert sorted(order[:12]) == list(range(12)) and sorted(order[12:24]) == list(range(12))
    assert len(set(order[24:])) == 6  # a partial pass draws no row twice
    assert not np.array_equal(order[:12], order[12:24])
    again = labelled_order(labels, 30, np.random.default_rng(1), balance=False)
    assert np.array_equal(order, again)
    assert labelled_order(labels, 0, np.random.default_rng(1), balance=True).size == 0
    assert labelled_order(np.zeros(0), 5, np.random.default_rng(1), balance=False).size == 0


def test_an_array_pool_draws_every_row():
    images = cutouts(7, 2)[0]
    rows = _row_of(images)
    pool = UnlabelledPool(images)
    assert pool.describe() == "7 unlabelled cutouts from an array"
    pool.start_epoch(np.random.default_rng(0))
    batches = [pool.next_batch(3) for _ in range(5)]
    assert all(b.shape == (3, 16, 16, 3) and b.dtype == np.uint8 for b in batches)
    drawn = [r for b in batches for r in rows(b)]
    assert sorted(drawn[:7]) == list(range(7)) and sorted(drawn[7:14]) == list(range(7))
    assert pool.next_batch(20).shape[0] == 20  # more than the pool: it refills as it goes
    with pytest.raises(InputError, match="non-empty uint8"):
        UnlabelledPool(images.astype(np.float32))
    with pytest.raises(InputError, match="non-empty uint8"):
        UnlabelledPool(images[:0])


def test_a_small_store_is_read_whole(tmp_path):
    path = write_store(tmp_path / "sky.h5", 12)
    images = cutouts(12, 1)[0]
    pool = UnlabelledPool(path, pool_size=20)
    assert pool.describe() == f"12 unlabelled cutouts from {path}"
    pool.start_epoch(np.random.default_rng(4))
    assert sorted(_row_of(images)(pool.next_batch(12))) == list(range(12))


def test_a_large_store_is_read_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(streams, "_BLOCK", 4)
    path = write_store(tmp_path / "sky.h5", 40)
    rows = _row_of(cutouts(40, 1)[0])

    def draws(seed, n_batches=6, size=5):
        pool = UnlabelledPool(path, pool_size=8)
        pool.start_epoch(np.random.default_rng([seed, 1, 9]))
        out = []
        for _ in range(n_batches):
            batch = pool.next_batch(size)
            assert batch.shape == (size, 16, 16, 3) and batch.dtype == np.uint8
            assert len(pool._pool) <= 8  # never more than the pool in memory
            out.append(rows(batch))
        return out

    first = draws(0)
    assert first == draws(0)  # the same epoch generator draws the same batches
    assert first != draws(1)
    # Blocks are contiguous rows: the first pool is two runs of four rows.
    pool = UnlabelledPool(path, pool_size=8)
    pool.start_epoch(np.random.default_rng(3))
    held = np.array(sorted(rows(pool._pool)))
    runs = np.split(held, np.flatnonzero(np.diff(held) != 1) + 1)
    assert 4 < len(held) <= 8 and len(runs) <= 2 and all(len(run) >= 4 for run in runs)
    # Over enough refills every row of the store is drawn.
    seen = {r for b in draws(2, n_batches=80) for r in b}
    assert seen == set(range(40))


def test_replay_reads_the_labelled_training_rows(tmp_path):
    path = write_train_store(tmp_path / "sims.h5", 30)
    all_images, all_labels = cutouts(30, 5)
    images, labels = load_replay(path)
    assert np.array_equal(images, all_images) and np.array_equal(labels, all_labels)
    assert labels.dtype == np.int64

    images, labels = load_replay(path, max_rows=10, seed=3)
    assert images.shape == (10, 16, 16, 3) and set(labels.tolist()) == {0, 1}
    picked = _row_of(all_images)(images)
    assert picked == sorted(picked) and np.array_equal(labels, all_labels[picked])
    again, _ = load_replay(path, max_rows=10, seed=3)
    other, _ = load_replay(path, max_rows=10, seed=4)
    assert np.array_equal(images, again) and not np.array_equal(images, other)

    # write_store puts every row in the test split: nothing there to replay.
    with pytest.raises(InputError, match="--replay: .* no labelled training rows of both classes"):
        load_replay(write_store(tmp_path / "test_split.h5", 10))
