from __future__ import annotations

import multiprocessing
import operator
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from astropy.table import Table

from deepshadows._io import partial_path
from deepshadows.data import Store, StoreWriter, make_splits, open_store, to_float
from deepshadows.errors import InputError

N = 300
FEATURES = np.dtype([("mag_g", "f4"), ("r_eff", "f4"), ("mu_mean", "f4")])
TRUTH = np.dtype([("sersic_n", "f4"), ("n_stars", "i4"), ("family", "S8")])
KIND_CYCLE = np.array(["lsbg", "lsbg", "type2", "type1"])
CONFIG = {"survey": "des", "n": N, "seed": 5}


def rows(start: int, stop: int, *, shape: tuple[int, int, int] = (64, 64, 3)) -> dict[str, Any]:
    """Deterministic content of rows [start, stop): the same whatever the batching."""
    r = np.arange(start, stop)
    pixels = np.arange(int(np.prod(shape))).reshape(shape)
    images = ((r[:, None, None, None] * 37 + pixels[None]) % 251).astype(np.uint8)
    kind = KIND_CYCLE[r % 4]
    features = np.zeros(r.size, FEATURES)
    features["mag_g"] = 20 + r / 100
    features["r_eff"] = r % 7
    features["mu_mean"] = -r
    truth = np.zeros(r.size, TRUTH)
    truth["sersic_n"] = 0.5 + r / N
    truth["n_stars"] = r % 5
    truth["family"] = np.where(kind == "lsbg", b"galaxy", b"star")
    return {
        "images": images,
        "label": (kind == "lsbg").astype(np.int8),
        "kind": kind,
        "subclass": np.where(kind == "lsbg", "", np.array(list("ABCDEF"))[r % 6]),
        "id": np.array([f"cut-{i:04d}-é" for i in r]),
        "features": features,
        "feature_flag": (r % 3).astype(np.int16),
        "truth": truth,
    }


def writer(path: Path, **kwargs: Any) -> StoreWriter:
    attrs = kwargs.pop("attrs", {"config": CONFIG, "provenance": {"created_utc": "now"}})
    return StoreWriter(
        path,
        n_total=kwargs.pop("n_total", N),
        feature_dtype=FEATURES,
        truth_dtype=TRUTH,
        attrs=attrs,
        **kwargs,
    )


def the_splits() -> np.ndarray:
    return make_splits(rows(0, N)["kind"], seed=11)


def write_store(path: Path, steps: tuple[int, ...] = (0, 70, 140, 250, N)) -> Path:
    with writer(path) as w:
        for a, b in zip(steps[:-1], steps[1:], strict=True):
            w.append(rows(a, b))
        return w.finalize(the_splits(), split_fractions=(0.75, 0.125, 0.125), split_seed=11)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store") / "sims.h5")


def datasets_of(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {name: f[name][:] for name in f}


# -- writing and reading back ------------------------------------------------------------------


def test_round_trip(store_path: Path) -> None:
    expected = rows(0, N)
    assert not partial_path(store_path).exists()
    with open_store(store_path) as store:
        assert len(store) == N
        np.testing.assert_array_equal(store.read_images(), expected["images"])
        np.testing.assert_array_equal(store.labels, expected["label"])
        assert store.labels.dtype == np.int8
        np.testing.assert_array_equal(store.kinds, expected["kind"])
        np.testing.assert_array_equal(store.subclasses, expected["subclass"])
        np.testing.assert_array_equal(store.ids, expected["id"])
        np.testing.assert_array_equal(store.splits, the_splits().astype(str))
        np.testing.assert_array_equal(store.feature_flags, expected["feature_flag"])
        features, truth = store.features_table(), store.truth_table()
        assert features.colnames == list(FEATURES.names)
        for name in FEATURES.names:
            np.testing.assert_array_equal(features[name], expected["features"][name])
        for name in TRUTH.names:
            np.testing.assert_array_equal(truth[name], expected["truth"][name])
        assert store.config == CONFIG
        assert store.provenance == {"created_utc": "now"}
        assert store.attrs["schema_version"] == 1
        assert store.attrs["format"] == "deepshadows-store"
        assert store.attrs["complete"] is True
        assert store.attrs["n_written"] == N
        assert store.attrs["split_fractions"] == [0.75, 0.125, 0.125]
        assert store.split_seed == 11


def test_schema_on_disk(store_path: Path) -> None:
    with h5py.File(store_path, "r") as f:
        images = f["images"]
        assert images.dtype == np.uint8 and images.shape == (N, 64, 64, 3)
        assert images.chunks == (-(-N // 8), 64, 64, 3)  # small stores keep progress in eighths
        assert images.compression == "gzip" and images.compression_opts == 4
        assert images.shuffle
        assert f["label"].dtype == np.int8
        assert f["kind"].dtype == np.dtype("S5") and f["split"].dtype == np.dtype("S5")
        assert f["subclass"].dtype == np.dtype("S1")
        assert f["id"].dtype == np.dtype("S64")  # fixed width: no global heap to corrupt on a kill
        assert f["feature_flag"].dtype == np.int16


def test_compound_tables_read_by_astropy(store_path: Path) -> None:
    expected = rows(0, N)
    features = Table.read(store_path, path="features")
    truth = Table.read(store_path, path="truth")
    assert len(features) == len(truth) == N
    np.testing.assert_array_equal(features["r_eff"], expected["features"]["r_eff"])
    np.testing.assert_array_equal(truth["family"], expected["truth"]["family"])


def test_small_store_chunks_and_optional_tables(tmp_path: Path) -> None:
    batch = {k: v for k, v in rows(0, 5).items() if k not in ("features", "feature_flag", "truth")}
    with StoreWriter(
        tmp_path / "s.h5", n_total=5, feature_dtype=None, truth_dtype=None, attrs={"config": {}}
    ) as w:
        w.append(batch)
        path = w.finalize(np.array(["train"] * 5), split_fractions=None, split_seed=None)
    with h5py.File(path, "r") as f:
        assert f["images"].chunks == (1, 64, 64, 3)
        assert "features" not in f and "truth" not in f
    store = Store(path)
    assert store.split_seed is None and not store.has_features
    with pytest.raises(InputError, match="no features"):
        store.features_table()
    with pytest.raises(InputError, match="no truth"):
        store.truth_table()


def test_summary(store_path: Path) -> None:
    summary = Store(store_path).summary()
    assert summary["n"] == N and summary["survey"] == "des"
    assert summary["config_keys"] == sorted(CONFIG)
    counts = summary["counts"]
    assert sum(counts[s]["total"] for s in ("train", "val", "test")) == N
    assert counts["train"]["total"] == 225
    assert sum(counts[s]["lsbg"] for s in counts) == N // 2
    assert sum(summary["subclasses"].values()) == N // 2
    assert summary["labels"] == {0: N // 2, 1: N // 2}


# -- validation while writing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"images": np.zeros((3, 64, 64, 3), np.float32)}, "uint8"),
        ({"images": np.zeros((3, 32, 32, 3), np.uint8)}, "shape"),
        ({"label": np.array([0, 1, 2])}, "label"),
        ({"kind": np.array(["lsbg", "star", "type1"])}, "kind"),
        ({"subclass": np.array(["", "Q", ""])}, "subclass"),
        ({"id": np.array(["a", "b"])}, "id"),
        ({"features": np.zeros(3, [("x", "f4")])}, "columns"),
    ],
)
def test_append_rejects_bad_batches(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with writer(tmp_path / "s.h5") as w:
        with pytest.raises(ValueError, match=message):
            w.append({**rows(0, 3), **change})
        assert w.n_written == 0


def test_append_rejects_missing_keys_and_overflow(tmp_path: Path) -> None:
    with writer(tmp_path / "s.h5", n_total=4) as w:
        batch = rows(0, 3)
        del batch["truth"]
        with pytest.raises(ValueError, match="missing"):
            w.append(batch)
        w.append(rows(0, 3))
        with pytest.raises(ValueError, match="overflows"):
            w.append(rows(3, 5))
        with pytest.raises(ValueError, match="3 of 4"):
            w.finalize(np.array([""] * 4), split_fractions=None, split_seed=None)


# -- atomicity and resume ----------------------------------------------------------------------


def test_close_without_finalize_then_resume(tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "sims.h5"
    with writer(path) as w:
        w.append(rows(0, 100))
        w.append(rows(100, 130))
    assert partial_path(path).exists() and not path.exists()
    with writer(path, resume=True) as w:
        # Only whole chunks (38 rows for 300) are durable; the rest is recomputed on resume.
        assert w.n_written == 130 - 130 % 38
        w.append(rows(w.n_written, N))
        final = w.finalize(the_splits(), split_fractions=(0.75, 0.125, 0.125), split_seed=11)
    assert final == path and not partial_path(path).exists()
    expected, got = datasets_of(store_path), datasets_of(path)
    assert expected.keys() == got.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_killed_process_loses_no_appended_rows(tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "sims.h5"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_store import rows, writer
        from pathlib import Path
        w = writer(Path({str(path)!r}))
        w.append(rows(0, 64))
        w.append(rows(64, 150))
        os._exit(0)  # killed: no close, no finalize
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert not path.exists()
    with writer(path, resume=True) as w:
        assert w.n_written == 150 - 150 % 38
        w.append(rows(w.n_written, N))
        w.finalize(the_splits(), split_fractions=(0.75, 0.125, 0.125), split_seed=11)
    expected, got = datasets_of(store_path), datasets_of(path)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_resume_with_different_config_fails(tmp_path: Path) -> None:
    path = tmp_path / "sims.h5"
    with writer(path) as w:
        w.append(rows(0, 40))
    other = {"config": {**CONFIG, "seed": 6}, "provenance": {}}
    with pytest.raises(InputError, match=r"sims\.h5\.partial.*different configuration.*seed"):
        writer(path, resume=True, attrs=other)
    with writer(path, resume=True) as w:
        assert w.n_written == 38


def test_resume_with_different_size_fails(tmp_path: Path) -> None:
    path = tmp_path / "sims.h5"
    writer(path).close()
    with pytest.raises(InputError, match=r"sims\.h5\.partial.*n_total"):
        writer(path, resume=True, n_total=N + 1)


def test_without_resume_a_partial_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "sims.h5"
    with writer(path) as w:
        w.append(rows(0, 10))
    with writer(path) as w:
        assert w.n_written == 0
    with writer(path, resume=True) as w:
        assert w.n_written == 0


def test_resume_without_partial_starts_afresh(tmp_path: Path) -> None:
    with writer(tmp_path / "sims.h5", resume=True) as w:
        assert w.n_written == 0


def test_existing_output_needs_overwrite(tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "sims.h5"
    path.write_bytes(b"previous results")
    with pytest.raises(InputError, match=r"sims\.h5.*--overwrite"):
        writer(path)
    assert path.read_bytes() == b"previous results"
    assert not partial_path(path).exists()
    with writer(path, overwrite=True) as w:
        w.append(rows(0, N))
        w.finalize(the_splits(), split_fractions=(0.75, 0.125, 0.125), split_seed=11)
    np.testing.assert_array_equal(Store(path).read_images([7]), Store(store_path).read_images([7]))


def test_writer_owns_bookkeeping_attrs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_written"):
        writer(tmp_path / "s.h5", attrs={"config": {}, "n_written": 3})


# -- opening invalid files ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.h5: store file not found"):
        Store(tmp_path / "nothing.h5")


def test_missing_file_with_partial_suggests_resume(tmp_path: Path) -> None:
    path = tmp_path / "sims.h5"
    writer(path).close()
    with pytest.raises(InputError, match=r"sims\.h5.*--resume"):
        open_store(path)


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.h5"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"noise\.h5: not an HDF5 file"):
        Store(path)


def test_foreign_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["images"] = np.zeros((2, 64, 64, 3), np.uint8)
    with pytest.raises(InputError, match=r"other\.h5: not a deepshadows-store file"):
        Store(path)


def test_unsupported_schema_version(tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "future.h5"
    path.write_bytes(store_path.read_bytes())
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 2
    with pytest.raises(InputError, match=r"future\.h5: store schema version 2"):
        Store(path)


def test_incomplete_partial(tmp_path: Path) -> None:
    path = tmp_path / "sims.h5"
    with writer(path) as w:
        w.append(rows(0, 40))
    with pytest.raises(InputError, match=r"sims\.h5\.partial: incomplete store \(38 of 300"):
        Store(partial_path(path))


# -- reading -----------------------------------------------------------------------------------


def test_indices(store_path: Path) -> None:
    store = Store(store_path)
    np.testing.assert_array_equal(store.indices(), np.arange(N))
    parts = [store.indices(s) for s in ("train", "val", "test")]
    for part in parts:
        assert np.all(np.diff(part) > 0)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(N))
    with pytest.raises(InputError, match="unknown split 'validation'"):
        store.indices("validation")


def test_empty_split(tmp_path: Path) -> None:
    with writer(tmp_path / "s.h5", n_total=8) as w:
        w.append(rows(0, 8))
        path = w.finalize(
            make_splits(np.zeros(8), fractions=(0.5, 0.5, 0), seed=0),
            split_fractions=(0.5, 0.5, 0),
            split_seed=0,
        )
    with pytest.raises(InputError, match=r"s\.h5: store has no rows in split 'test'"):
        Store(path).indices("test")


def test_read_images_any_order(store_path: Path) -> None:
    images = rows(0, N)["images"]
    store = Store(store_path)
    for idx in ([5, 2, 5, 299, 0], np.array([250, 3]), [17], []):
        np.testing.assert_array_equal(store.read_images(idx), images[np.asarray(idx, int)])
    with pytest.raises(IndexError):
        store.read_images([N])


def test_to_float() -> None:
    images = np.random.default_rng(0).integers(0, 256, (4, 6, 5, 3), dtype=np.uint8)
    x = to_float(images)
    assert x.dtype == np.float32 and x.shape == (4, 3, 6, 5) and x.flags.c_contiguous
    np.testing.assert_array_equal(x, images.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    with pytest.raises(ValueError, match="uint8"):
        to_float(x)


@pytest.mark.parametrize("split", [None, "train", "val"])
@pytest.mark.parametrize("batch_size", [1, 64, 1000])
def test_iter_batches_covers_split_once(store_path: Path, split: str | None, batch_size: int) -> None:
    store = Store(store_path)
    expected = rows(0, N)
    seen = []
    batches = list(store.iter_batches(split, batch_size=batch_size))
    for x, y, idx in batches:
        assert x.dtype == np.float32 and x.shape == (idx.size, 3, 64, 64)
        assert y.dtype == np.int8 and y.shape == idx.shape
        np.testing.assert_array_equal(x, to_float(expected["images"][idx]))
        np.testing.assert_array_equal(y, expected["label"][idx])
        seen.append(idx)
    assert all(idx.size == batch_size for _, _, idx in batches[:-1])
    np.testing.assert_array_equal(np.concatenate(seen), store.indices(split))


def test_iter_batches_shuffle(store_path: Path) -> None:
    store = Store(store_path)
    plain = np.concatenate([i for _, _, i in store.iter_batches("train", batch_size=32)])

    def order(seed: int, **kwargs: Any) -> np.ndarray:
        batches = store.iter_batches("train", batch_size=32, shuffle=True, seed=seed, **kwargs)
        return np.concatenate([idx for _, _, idx in batches])

    first = order(1)
    np.testing.assert_array_equal(first, order(1))
    assert not np.array_equal(first, plain)
    assert not np.array_equal(first, order(2))
    np.testing.assert_array_equal(np.sort(first), plain)
    small_buffer = order(3, buffer_rows=40)
    np.testing.assert_array_equal(np.sort(small_buffer), plain)
    x, y, idx = next(store.iter_batches("train", batch_size=32, shuffle=True, seed=1))
    np.testing.assert_array_equal(x, to_float(rows(0, N)["images"][idx]))
    raw, _, raw_idx = next(store.iter_batches("train", batch_size=32, shuffle=True, seed=1, raw=True))
    np.testing.assert_array_equal(raw_idx, idx)
    assert raw.dtype == np.uint8 and raw.flags.owndata
    np.testing.assert_array_equal(raw, rows(0, N)["images"][idx])


def test_iter_batches_rejects_bad_batch_size(store_path: Path) -> None:
    with pytest.raises(InputError, match="--batch-size"):
        next(Store(store_path).iter_batches(batch_size=0))


def test_pickle(store_path: Path) -> None:
    store = Store(store_path)
    store.read_images([1])  # opens the handle, which must not travel
    clone = pickle.loads(pickle.dumps(store))
    assert clone.path == store.path and len(clone) == N
    np.testing.assert_array_equal(clone.read_images([3, 1]), store.read_images([3, 1]))
    np.testing.assert_array_equal(clone.ids, store.ids)


def _first_image_sum(store: Store) -> int:
    return int(store.read_images([0]).sum(dtype=np.int64))


def test_store_in_worker_process(store_path: Path) -> None:
    # Only package-level callables travel to a spawned worker (test modules are not importable there).
    store = Store(store_path)
    expected = _first_image_sum(store)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        images = pool.apply(operator.methodcaller("read_images", [0]), (store,))
    assert int(images.sum(dtype=np.int64)) == expected


def test_resume_salvages_a_partial_that_no_longer_opens_for_writing(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill during a metadata flush can leave a file HDF5 refuses to open for writing."""
    import deepshadows.store.reader as store_module

    path = tmp_path / "sims.h5"
    with writer(path) as w:
        w.append(rows(0, 100))
    real_file = h5py.File

    def refuses_writing(name, mode="r", **kwargs):
        if mode == "r+":
            raise OSError("unable to open file (file signature not found)")
        return real_file(name, mode, **kwargs)

    monkeypatch.setattr(store_module.h5py, "File", refuses_writing)
    with writer(path, resume=True) as w:
        assert w.n_written == 100 - 100 % 38  # the whole chunks were copied over
        monkeypatch.setattr(store_module.h5py, "File", real_file)
        w.append(rows(w.n_written, N))
        w.finalize(the_splits(), split_fractions=(0.75, 0.125, 0.125), split_seed=11)
    assert not (tmp_path / "sims.h5.partial.damaged").exists()
    expected, got = datasets_of(store_path), datasets_of(path)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_identifier_wider_than_the_column_is_refused(tmp_path: Path) -> None:
    batch = rows(0, 4)
    batch["id"] = np.array(["x" * 65, "a", "b", "c"])
    with writer(tmp_path / "s.h5", n_total=4) as w, pytest.raises(ValueError, match="longer than 64 bytes"):
        w.append(batch)
    with writer(tmp_path / "t.h5", n_total=4, id_width=65) as w:
        w.append(batch)
        out = w.finalize(np.array(["train"] * 4), split_fractions=None, split_seed=None)
    assert Store(out).ids[0] == "x" * 65
