from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepshadows._io import partial_path
from deepshadows.cli.main import main
from deepshadows.data import StoreWriter, merge_stores, open_store
from deepshadows.errors import InputError

FEATURES = np.dtype([("mag_g", "f4"), ("r_eff", "f4")])
TRUTH = np.dtype([("sersic_n", "f4")])


def _write(
    path: Path,
    n: int,
    *,
    survey: str,
    offset: int,
    prefix: str = "cut",
    features: bool = True,
    truth: bool = True,
    side: int = 16,
) -> Path:
    r = np.arange(n)
    batch: dict[str, Any] = {
        "images": np.broadcast_to(
            ((r + offset) % 251).astype(np.uint8)[:, None, None, None], (n, side, side, 3)
        ).copy(),
        "label": (r % 2).astype(np.int8),
        "kind": np.where(r % 2 == 1, "lsbg", "type2"),
        "subclass": np.where(r % 2 == 1, "", "A"),
        "id": np.array([f"{prefix}-{i}" for i in r]),
    }
    if features:
        feats = np.zeros(n, FEATURES)
        feats["mag_g"] = offset + r
        batch["features"], batch["feature_flag"] = feats, (r % 3).astype(np.int16)
    if truth:
        tru = np.zeros(n, TRUTH)
        tru["sersic_n"] = offset + r / 10
        batch["truth"] = tru
    split = np.array(["train", "train", "val", "test"])[r % 4]
    with StoreWriter(
        path,
        n_total=n,
        feature_dtype=FEATURES if features else None,
        truth_dtype=TRUTH if truth else None,
        attrs={"config": {"survey": survey, "seed": offset}},
        image_shape=(side, side, 3),
    ) as writer:
        writer.append(batch)
        return writer.finalize(split, split_fractions=(0.5, 0.25, 0.25), split_seed=offset)


@pytest.fixture()
def two_stores(tmp_path: Path) -> tuple[Path, Path]:
    return (
        _write(tmp_path / "des.h5", 12, survey="des", offset=0, prefix="des"),
        _write(tmp_path / "ls.h5", 8, survey="ls-dr10", offset=100, prefix="ls"),
    )


def test_rows_keep_their_content_labels_and_splits(two_stores: tuple[Path, Path], tmp_path: Path) -> None:
    out = merge_stores(two_stores, tmp_path / "mixed.h5", progress=False)
    with open_store(out) as merged, open_store(two_stores[0]) as a, open_store(two_stores[1]) as b:
        assert len(merged) == len(a) + len(b) == 20
        np.testing.assert_array_equal(
            merged.read_images(), np.concatenate([a.read_images(), b.read_images()])
        )
        np.testing.assert_array_equal(merged.labels, np.concatenate([a.labels, b.labels]))
        np.testing.assert_array_equal(merged.splits, np.concatenate([a.splits, b.splits]))
        np.testing.assert_array_equal(merged.kinds, np.concatenate([a.kinds, b.kinds]))
        np.testing.assert_array_equal(merged.ids, np.concatenate([a.ids, b.ids]))
        np.testing.assert_array_equal(
            merged.features_table()["mag_g"],
            np.concatenate([a.features_table()["mag_g"], b.features_table()["mag_g"]]),
        )
        np.testing.assert_array_equal(
            merged.feature_flags, np.concatenate([a.feature_flags, b.feature_flags])
        )
        assert merged.has_truth
        config = merged.config
        assert config["survey"] == "des+ls-dr10"
        assert [s["file"] for s in config["sources"]] == ["des.h5", "ls.h5"]
        assert [s["n"] for s in config["sources"]] == [12, 8]
        assert config["sources"][1]["config"] == {"survey": "ls-dr10", "seed": 100}
        assert merged.split_seed is None
        assert merged.summary()["counts"]["test"]["total"] == 3 + 2


def test_shared_ids_are_prefixed_with_the_source(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.h5", 4, survey="des", offset=0)
    b = _write(tmp_path / "b.h5", 4, survey="des", offset=7)
    with open_store(merge_stores([a, b], tmp_path / "m.h5", progress=False)) as merged:
        assert list(merged.ids) == [f"{s}:cut-{i}" for s in "ab" for i in range(4)]
        assert merged.config["survey"] == "des"


def test_columns_not_shared_by_every_store_are_dropped(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.h5", 4, survey="des", offset=0, prefix="a")
    b = _write(tmp_path / "b.h5", 4, survey="des", offset=7, prefix="b", truth=False)
    with open_store(merge_stores([a, b], tmp_path / "m.h5", progress=False)) as merged:
        assert merged.has_features and not merged.has_truth


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("one", "at least two stores"),
        ("twice", "given more than once"),
        ("shape", "different shapes"),
        ("missing", "missing.h5: store file not found"),
        ("into-source", "cannot be one of its sources"),
    ],
)
def test_bad_input_names_the_problem(
    two_stores: tuple[Path, Path], tmp_path: Path, case: str, message: str
) -> None:
    a, b = two_stores
    sources, out = {
        "one": ([a], tmp_path / "m.h5"),
        "twice": ([a, b, a], tmp_path / "m.h5"),
        "shape": (
            [a, _write(tmp_path / "big.h5", 4, survey="des", offset=3, prefix="x", side=8)],
            tmp_path / "m.h5",
        ),
        "missing": ([a, tmp_path / "missing.h5"], tmp_path / "m.h5"),
        "into-source": ([a, b], b),
    }[case]
    with pytest.raises(InputError, match=message):
        merge_stores(sources, out, progress=False)
    assert not partial_path(tmp_path / "m.h5").exists()


def test_existing_output_needs_overwrite(two_stores: tuple[Path, Path], tmp_path: Path) -> None:
    out = merge_stores(two_stores, tmp_path / "m.h5", progress=False)
    with pytest.raises(InputError, match="exists"):
        merge_stores(two_stores, out, progress=False)
    merge_stores(two_stores, out, overwrite=True, progress=False)


def test_command_line(
    two_stores: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mixed.h5"
    assert main(["merge", *map(str, two_stores), "--out", str(out), "--quiet"]) == 0
    assert "20 rows from 2 stores, survey des+ls-dr10" in capsys.readouterr().out
    assert main(["merge", str(two_stores[0]), "--out", str(tmp_path / "x.h5"), "--quiet"]) == 1
    assert "at least two stores" in capsys.readouterr().err
