"""Simulated data sets: class balance, worker-count invariance, resume and stored truth."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from deepshadows.data import open_store
from deepshadows.errors import InputError
from deepshadows.simulate import SimConfig, assign_classes, make_dataset
from deepshadows.simulate import dataset as dataset_module


def _read_all(path):
    with h5py.File(path, "r") as f:
        return {
            key: f[key][()]
            for key in (
                "images",
                "label",
                "kind",
                "subclass",
                "id",
                "split",
                "features",
                "feature_flag",
                "truth",
            )
        }


def _assert_same(a, b):
    """Byte-identical (NaN-safe) comparison of every dataset."""
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        if a[key].dtype == object:
            assert list(a[key]) == list(b[key]), key
        else:
            assert a[key].tobytes() == b[key].tobytes(), key


def test_class_assignment_is_exact_and_seeded():
    kinds, subclasses = assign_classes(SimConfig(n=101, seed=3, type1_fraction=0.2))
    assert (kinds == "type1").sum() == 20
    assert (kinds == "lsbg").sum() == 41 and (kinds == "type2").sum() == 40
    assert set(subclasses[kinds == "type1"]) == {"E"}
    assert set(subclasses[kinds == "lsbg"]) == {""}
    assert set(subclasses[kinds == "type2"]) <= set("ABCDFGHI")
    again, _ = assign_classes(SimConfig(n=101, seed=3, type1_fraction=0.2))
    np.testing.assert_array_equal(kinds, again)


def test_dataset_is_identical_whatever_the_worker_count(tmp_path):
    cfg = SimConfig(n=12, seed=5, max_attempts=4)
    one = make_dataset(tmp_path / "one.h5", cfg, workers=1, progress=False)
    two = make_dataset(tmp_path / "two.h5", cfg, workers=2, progress=False)
    _assert_same(_read_all(one), _read_all(two))


def test_dataset_on_a_dask_cluster_is_identical(tmp_path):
    pytest.importorskip("distributed")
    cfg = SimConfig(n=20, seed=5, max_attempts=4)
    local = make_dataset(tmp_path / "local.h5", cfg, workers=1, progress=False)
    dask = make_dataset(tmp_path / "dask.h5", cfg, progress=False, scheduler="local:2")
    _assert_same(_read_all(local), _read_all(dask))


def test_interrupted_run_resumes_to_the_same_store(tmp_path, monkeypatch):
    cfg = SimConfig(n=10, seed=2, max_attempts=4)
    reference = make_dataset(tmp_path / "ref.h5", cfg, workers=1, progress=False)

    monkeypatch.setattr(dataset_module, "_CHUNK", 3)  # n // 20 is below the minimum of 4: chunks of 3
    original = dataset_module._simulate_one

    def dies_at_seven(job):
        if job[1] == 7:
            raise KeyboardInterrupt
        return original(job)

    monkeypatch.setattr(dataset_module, "_simulate_one", dies_at_seven)
    out = tmp_path / "out.h5"
    with pytest.raises(KeyboardInterrupt):
        make_dataset(out, cfg, workers=1, progress=False)
    assert not out.exists()
    with h5py.File(tmp_path / "out.h5.partial", "r") as f:
        assert f.attrs["n_written"] == 6  # two full chunks of three survived the kill

    monkeypatch.setattr(dataset_module, "_simulate_one", original)
    resumed = make_dataset(out, cfg, workers=1, progress=False, resume=True)
    _assert_same(_read_all(reference), _read_all(resumed))


def test_store_records_configuration_truth_and_splits(tmp_path):
    cfg = SimConfig(n=16, seed=1, type1_fraction=0.25, max_attempts=3)
    path = make_dataset(tmp_path / "d.h5", cfg, workers=1, progress=False)
    with open_store(path) as store:
        assert store.config["n"] == 16 and store.config["type1_fraction"] == 0.25
        assert "galsim" in store.provenance["versions"]
        truth = store.truth_table()
        assert len(truth) == 16 and "mu_mean_g" in truth.colnames
        lsbg = store.kinds == "lsbg"
        assert np.isfinite(np.asarray(truth["r_eff"])[lsbg]).all()
        assert np.isnan(np.asarray(truth["r_eff"])[~lsbg]).all()
        assert np.array_equal(store.labels == 1, lsbg)
        assert len(store.features_table().colnames) == 19
        assert sorted(set(store.splits)) == ["test", "train", "val"]
        assert len(store.indices("train")) == 12


@pytest.mark.parametrize(
    ("changes", "culprit"),
    [
        ({"n": 0}, "--n"),
        ({"n": -5}, "--n"),
        ({"n": 10**9}, "--n"),
        ({"type1_fraction": 1.5}, "--type1-fraction"),
        ({"resize": "box"}, "--resize"),
        ({"randomize": "some"}, "--randomize"),
        ({"survey": "sdss"}, "--survey"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_bad_configuration_names_the_parameter(tmp_path, changes, culprit):
    with pytest.raises(InputError, match=culprit):
        make_dataset(tmp_path / "x.h5", SimConfig(**changes), workers=1, progress=False)
    assert not (tmp_path / "x.h5").exists()
