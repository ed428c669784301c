from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from deepshadows.errors import InputError
from deepshadows.models import create_model, fingerprint_store, load_model, save_model, sidecar_path
from deepshadows.store.reader import StoreWriter

NAME = "deepshadows-table1"
META = {"class_names": ["artifact", "lsbg"], "threshold": 0.5, "metrics": {"val_loss": 0.25}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def trained_like(**kwargs) -> torch.nn.Module:
    """A model whose weights and BatchNorm statistics differ from a fresh one."""
    torch.manual_seed(3)
    model = create_model(NAME, **kwargs)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.01 * torch.randn_like(tensor))
                if name.endswith("running_var"):
                    tensor.abs_()
    return model.eval()


@pytest.fixture(scope="module")
def small_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(
        trained_like(image_size=16), tmp_path_factory.mktemp("w") / "small.safetensors", metadata=META
    )


def copy_pair(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    dst.write_bytes(src.read_bytes())
    sidecar_path(dst).write_text(sidecar_path(src).read_text())
    return dst


def test_round_trip_gives_equal_outputs(tmp_path: Path) -> None:
    model = trained_like()
    path = save_model(model, tmp_path / "model.safetensors", metadata=META)
    assert path == tmp_path / "model.safetensors"
    sidecar = json.loads((tmp_path / "model.json").read_text())
    assert sidecar["architecture"] == NAME
    assert sidecar["format_version"] == 1
    assert sidecar["model_kwargs"] == model.model_kwargs
    assert sidecar["threshold"] == 0.5
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    for source in (path, tmp_path):  # the file, or the run folder holding it
        loaded, meta = load_model(source)
        assert not loaded.training
        assert meta["class_names"] == ["artifact", "lsbg"]
        assert meta["metrics"] == {"val_loss": 0.25}
        for key, value in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        with torch.no_grad():
            assert torch.equal(loaded(x), expected)


def test_save_into_folder_and_reserved_keys(tmp_path: Path) -> None:
    model = create_model(NAME, image_size=8)
    assert save_model(model, tmp_path, metadata={}) == tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match="reserved"):
        save_model(model, tmp_path / "m.safetensors", metadata={"architecture": "x"})
    with pytest.raises(InputError, match="safetensors"):
        save_model(model, tmp_path / "m.pt", metadata={})
    with pytest.raises(ValueError, match="create_model"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "lin.safetensors", metadata={})


def test_missing_files(tmp_path: Path, small_saved: Path) -> None:
    with pytest.raises(InputError, match="nothing.safetensors"):
        load_model(tmp_path / "nothing.safetensors")
    with pytest.raises(InputError, match="model.safetensors"):
        load_model(tmp_path)  # a folder without weights
    copy = copy_pair(small_saved, tmp_path)
    sidecar_path(copy).unlink()
    with pytest.raises(InputError, match="small.json"):
        load_model(copy)


@pytest.mark.parametrize("damage", ["random", "truncated", "empty"])
@pytest.mark.parametrize("keep_checksum", [True, False])
def test_corrupt_weights(tmp_path: Path, small_saved: Path, damage: str, keep_checksum: bool) -> None:
    path = copy_pair(small_saved, tmp_path)
    data = path.read_bytes()
    if damage == "random":
        data = np.random.default_rng(0).integers(0, 256, size=len(data), dtype=np.uint8).tobytes()
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = b""
    path.write_bytes(data)
    if not keep_checksum:  # then safetensors itself must refuse the file
        meta = json.loads(sidecar_path(path).read_text())
        del meta["weights_sha256"]
        sidecar_path(path).write_text(json.dumps(meta))
    with pytest.raises(InputError, match=str(path.name)):
        load_model(path)


def test_flipped_byte_is_caught_by_checksum(tmp_path: Path, small_saved: Path) -> None:
    path = copy_pair(small_saved, tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # tensor data: the file still parses
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="checksum"):
        load_model(path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({"architecture": "resnet-9000"}, "unknown architecture"),
        ({"model_kwargs": {"image_size": 16, "num_classes": 3}}, "do not fit"),
        ({"model_kwargs": {"image_size": 16, "colour": True}}, "cannot build"),
        ({"format_version": 99}, "not supported"),
    ],
)
def test_bad_sidecar(tmp_path: Path, small_saved: Path, edit: dict, match: str) -> None:
    path = copy_pair(small_saved, tmp_path)
    meta = json.loads(sidecar_path(path).read_text())
    meta.update(edit)
    sidecar_path(path).write_text(json.dumps(meta))
    with pytest.raises(InputError, match=match) as info:
        load_model(path)
    assert "small." in str(info.value)


def test_sidecar_not_json(tmp_path: Path, small_saved: Path) -> None:
    path = copy_pair(small_saved, tmp_path)
    sidecar_path(path).write_text("{not json")
    with pytest.raises(InputError, match="small.json"):
        load_model(path)


def write_store(path: Path, *, split_seed: int = 0, n: int = 12) -> Path:
    kinds = np.array(["lsbg", "type2"] * (n // 2))
    with StoreWriter(
        path,
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {"n": n}},
        image_shape=(8, 8, 3),
    ) as writer:
        writer.append(
            {
                "images": np.zeros((n, 8, 8, 3), np.uint8),
                "label": (kinds == "lsbg").astype(np.int8),
                "kind": kinds,
                "subclass": np.where(kinds == "lsbg", "", "A"),
                "id": np.array([f"obj-{i}" for i in range(n)]),
            }
        )
        split = np.random.default_rng(split_seed).permutation(np.array(["train", "val", "test"] * (n // 3)))
        return writer.finalize(split, split_fractions=None, split_seed=None)


def test_fingerprint_store(tmp_path: Path) -> None:
    a = write_store(tmp_path / "a.h5")
    b = write_store(tmp_path / "b.h5")
    c = write_store(tmp_path / "c.h5", split_seed=1)
    fa = fingerprint_store(a)
    assert len(fa) == 64 and int(fa, 16) >= 0
    assert fingerprint_store(b) == fa  # same content, another file name
    assert fingerprint_store(c) != fa  # other splits
    os.remove(a)
    with pytest.raises(InputError, match="a.h5"):
        fingerprint_store(a)
