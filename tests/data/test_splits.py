from __future__ import annotations

import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.store.splits import check_split_fractions, make_splits

NAMES = (b"train", b"val", b"test")


def _paper_strata() -> np.ndarray:
    return np.repeat(np.array(["lsbg", "type2"], dtype="S5"), 20_000)


def test_exact_sizes_for_the_paper_split() -> None:
    split = make_splits(_paper_strata(), seed=0)
    assert split.dtype == np.dtype("S5")
    counts = {name: int((split == name).sum()) for name in NAMES}
    assert counts == {b"train": 30_000, b"val": 5_000, b"test": 5_000}


def test_every_row_in_exactly_one_split() -> None:
    split = make_splits(_paper_strata(), seed=3)
    assert np.isin(split, NAMES).all()
    sets = [set(np.flatnonzero(split == name)) for name in NAMES]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(len(s) for s in sets) == split.size


def test_stratified() -> None:
    strata = np.array(["lsbg"] * 600 + ["type2"] * 300 + ["type1"] * 100)
    split = make_splits(strata, seed=1)
    for stratum, n in (("lsbg", 600), ("type2", 300), ("type1", 100)):
        member = split[strata == stratum]
        for name, frac in zip(NAMES, (0.75, 0.125, 0.125), strict=True):
            assert abs((member == name).sum() - frac * n) < 1


def test_deterministic_and_seeded() -> None:
    strata = np.random.default_rng(0).integers(0, 3, 500)
    a = make_splits(strata, seed=7)
    np.testing.assert_array_equal(a, make_splits(strata, seed=7))
    assert not np.array_equal(a, make_splits(strata, seed=8))


def test_zero_fraction_and_string_fractions() -> None:
    split = make_splits(np.zeros(10), fractions="0.8, 0.2, 0", seed=0)
    assert (split == b"train").sum() == 8
    assert (split == b"val").sum() == 2
    assert not (split == b"test").any()


def test_empty_input() -> None:
    assert make_splits(np.array([]), seed=0).shape == (0,)


@pytest.mark.parametrize(
    "fractions",
    [(0.5, 0.5), (0.5, 0.6, -0.1), (0.5, 0.3, 0.3), ("a", 0.5, 0.5), "0.7,0.3", (np.nan, 1, 0)],
)
def test_invalid_fractions(fractions: object) -> None:
    with pytest.raises(InputError, match="--split-fractions"):
        check_split_fractions(fractions)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="--split-fractions"):
        make_splits(np.zeros(4), fractions=fractions, seed=0)  # type: ignore[arg-type]


def test_strata_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        make_splits(np.zeros((2, 2)), seed=0)


@pytest.mark.parametrize("case", range(50))
def test_margins_exact_for_any_strata(case: int) -> None:
    rng = np.random.default_rng(case)
    sizes = rng.integers(1, 41, rng.integers(1, 13))
    weights = rng.integers(0, 11, 3)
    weights[2] += 1
    fractions = weights / weights.sum()
    strata = np.repeat(np.arange(sizes.size), sizes)
    split = make_splits(strata, fractions=tuple(fractions), seed=case)
    n = strata.size
    totals = np.array([(split == name).sum() for name in NAMES])
    assert totals.sum() == n
    assert np.all(np.abs(totals - n * fractions) < 1)
    for s, size in enumerate(sizes):
        member = split[strata == s]
        counts = np.array([(member == name).sum() for name in NAMES])
        assert np.all(np.abs(counts - size * fractions) < 1)
        assert not np.any((counts > 0) & (fractions == 0))
