from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.data import StoreWriter
from deepshadows.errors import InputError
from deepshadows.models import create_model, load_model, save_model
from deepshadows.transfer import choose_samples, fine_tune, run_transfer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZE = 16


def _cutouts(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """LSBGs: a faint central blob; artifacts: a bright off-centre one."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    blob = np.exp(-(xx**2 + yy**2) / 8)
    images = 30 + rng.normal(0, 6, (n, SIZE, SIZE, 3))
    images += (labels * 40.0)[:, None, None, None] * blob[None, :, :, None]
    images += ((1 - labels) * 80.0)[:, None, None, None] * np.roll(blob, 4, axis=1)[None, :, :, None]
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture
def source_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("deepshadows-table1", image_size=SIZE)
    return save_model(
        model, tmp_path / "des" / "model.safetensors", metadata={"class_names": ["artifact", "lsbg"]}
    )


@pytest.fixture
def target_store(tmp_path: Path) -> Path:
    n = 120
    images, labels = _cutouts(n, seed=1)
    with StoreWriter(
        tmp_path / "hsc.h5",
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {}},
        image_shape=(SIZE, SIZE, 3),
    ) as writer:
        writer.append(
            {
                "images": images,
                "label": labels,
                "kind": np.where(labels == 1, "lsbg", "type2"),
                "subclass": np.where(labels == 1, "", "A"),
                "id": np.array([f"h{i}" for i in range(n)]),
            }
        )
        return writer.finalize(np.array(["test"] * n), split_fractions=None, split_seed=None)


def test_samples_are_disjoint_balanced_and_seeded() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [-1] * 5)
    tune, test = choose_samples(labels, 20, 40, seed=3)
    assert len(tune) == 20 and len(test) == 40 and not set(tune) & set(test)
    assert (labels[np.concatenate([tune, test])] >= 0).all()
    assert np.bincount(labels[test]).tolist() == [20, 20] and np.bincount(labels[tune]).tolist() == [10, 10]
    again = choose_samples(labels, 20, 40, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tune, test), again, strict=True))
    with pytest.raises(InputError, match="exceed the 80 labelled"):
        choose_samples(labels, 50, 40, seed=0)


def test_head_only_fine_tuning_leaves_the_blocks_untouched(source_model: Path) -> None:
    model, _ = load_model(source_model)
    images, labels = _cutouts(32, seed=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    head, history = fine_tune(model, images, labels, mode="head", epochs=2, batch_size=8, lr=0.5)
    whole, _ = fine_tune(model, images, labels, mode="whole", epochs=2, batch_size=8, lr=0.5)
    assert len(history) == 2
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"the source model changed: {key}"
        changed_head = not torch.equal(head.state_dict()[key], value)
        assert changed_head == (key.startswith(("fc.", "head."))), key  # BN statistics frozen too
    assert not torch.equal(whole.state_dict()["blocks.0.conv.weight"], before["blocks.0.conv.weight"])
    assert not torch.equal(whole.state_dict()["blocks.0.bn.running_mean"], before["blocks.0.bn.running_mean"])
    with pytest.raises(InputError, match="--mode"):
        fine_tune(model, images, labels, mode="last")


def test_transfer_writes_before_after_and_a_learning_curve(
    source_model: Path, target_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "transfer"
    result = run_transfer(
        source_model.parent,
        target_store,
        out,
        n_finetune=40,
        n_test=60,
        epochs=8,
        batch_size=8,
        lr=0.5,
        curve=(10, 20),
        n_boot=50,
        precision="fp32",
    )
    for stage in ("before", "after"):
        assert (out / stage / "metrics.json").is_file() and (out / stage / "confusion.png").is_file()
        assert result[stage]["n"] == 60
    history = np.loadtxt(out / "finetune_history.csv", delimiter=",", skiprows=1)
    assert history.shape == (8, 4) and history[-1, 1] < history[0, 1]  # the fine-tuning loss fell
    assert (out / "roc_before_after.png").read_bytes()[:4] == b"\x89PNG"
    assert [(r["n_finetune"], r["mode"]) for r in result["curve"]] == [
        (10, "whole"),
        (10, "head"),
        (20, "whole"),
        (20, "head"),
    ]
    assert (out / "learning_curve.png").is_file() and len(
        (out / "learning_curve.csv").read_text().splitlines()
    ) == 5
    tuned, meta = load_model(out)
    assert meta["transfer"]["n_finetune"] == 40 and meta["class_names"] == ["artifact", "lsbg"]
    saved = json.loads((out / "transfer.json").read_text())
    assert saved["settings"]["mode"] == "whole"


def test_cli_transfer_rejects_a_bad_curve(source_model: Path, target_store: Path, tmp_path: Path) -> None:
    from deepshadows.cli.main import main

    args = ["transfer", str(source_model.parent), "--data", str(target_store), "--out", str(tmp_path / "t")]
    assert main([*args, "--curve", "10,x"]) == 1
    assert main([*args, "--n-finetune", "100", "--n-test", "100"]) == 1
