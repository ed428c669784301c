"""Import of a .npz file of cutouts into a store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepshadows.cli.main import main
from deepshadows.data import Store
from deepshadows.data.npz import import_npz, parse_select
from deepshadows.errors import InputError


def write_npz(path: Path, n: int = 6, **fields: np.ndarray) -> Path:
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    data = {
        "images": images,
        "label": np.array([1, 0] * (n // 2), dtype=np.int8),
        "selection": np.array(["random", "model_selected"] * (n // 2)),
        "source": np.array([f"panel {i:03d}" for i in range(n)]),
    }
    np.savez(path, **(data | fields))
    return path


def test_round_trip(tmp_path: Path) -> None:
    src = write_npz(tmp_path / "real.npz")
    store = Store(import_npz(src, out=tmp_path / "real.h5"))
    assert len(store) == 6
    np.testing.assert_array_equal(store.labels, [1, 0] * 3)
    np.testing.assert_array_equal(store.ids, [f"panel {i:03d}" for i in range(6)])
    assert (store.splits == "test").all()
    np.testing.assert_array_equal(store.read_images(), np.load(src)["images"])
    assert store.config["columns"]["selection"][:2] == ["random", "model_selected"]


def test_select_and_cli(tmp_path: Path) -> None:
    src = write_npz(tmp_path / "real.npz")
    assert main(["import", str(src), "--select", "selection=random", "--out", str(tmp_path / "r.h5")]) == 0
    store = Store(tmp_path / "r.h5")
    assert len(store) == 3 and (store.labels == 1).all()
    assert store.config["columns"]["npz_row"] == [0, 2, 4]
    assert parse_select(["a=b"]) == {"a": "b"}


def test_ids_without_source(tmp_path: Path) -> None:
    src = tmp_path / "plain.npz"
    np.savez(src, images=np.zeros((2, 64, 64, 3), np.uint8))
    store = Store(import_npz(src, out=tmp_path / "p.h5"))
    np.testing.assert_array_equal(store.ids, ["plain-0", "plain-1"])
    assert (store.labels == -1).all()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"images": np.zeros((2, 64, 64), np.uint8)}, "field 'images'"),
        ({"label": np.array([1, 2, 0, 0, 1, 1])}, "field 'label'"),
        ({"source": np.array(["a", "b"])}, "field 'source' has shape"),
    ],
)
def test_bad_npz_names_file_and_field(tmp_path: Path, fields: dict, message: str) -> None:
    src = write_npz(tmp_path / "bad.npz", **fields)
    with pytest.raises(InputError, match=message) as info:
        import_npz(src, out=tmp_path / "x.h5")
    assert "bad.npz" in str(info.value)
    assert not (tmp_path / "x.h5").exists()


def test_bad_select_and_not_npz(tmp_path: Path) -> None:
    src = write_npz(tmp_path / "real.npz")
    with pytest.raises(InputError, match="no field 'layer'"):
        import_npz(src, out=tmp_path / "x.h5", select={"layer": "ls-dr9"})
    with pytest.raises(InputError, match="keeps no row"):
        import_npz(src, out=tmp_path / "x.h5", select={"selection": "other"})
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.npz"):
        import_npz(junk, out=tmp_path / "x.h5")
