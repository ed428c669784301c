"""The truth of the injections, exact injection in flux, and the tables' statistics."""

from __future__ import annotations

import numpy as np
import pytest
import sep
from astropy.table import Table

from deepshadows.completeness import (
    AXES,
    binned_completeness,
    binomial_interval,
    draw_truths,
    inject_lsbg,
    mu_at_completeness,
    parse_grid,
)
from deepshadows.errors import InputError
from deepshadows.simulate.lsbg import sample_lsbg
from deepshadows.simulate.photometry import band_fluxes, mean_sb_to_mag
from deepshadows.surveys import BANDS, get_survey


def test_sample_lsbg_keeps_fixed_values_and_derives_the_rest() -> None:
    fixed = {"mu_mean_g": 26.1, "r_eff": 7.5, "sersic_n": 1.4, "q": 0.55, "g_i": 0.9}
    params = sample_lsbg(np.random.default_rng(1), fixed=fixed)
    assert {k: params[k] for k in fixed} == pytest.approx(fixed)
    assert params["red"] == 1.0
    assert params["mag_g"] == pytest.approx(mean_sb_to_mag(26.1, 7.5, 0.55))
    assert params["r_i"] == pytest.approx(params["g_i"] - params["g_r"])
    with pytest.raises(InputError, match="cannot fix mag_g"):
        sample_lsbg(np.random.default_rng(1), fixed={"mag_g": 20.0})
    with pytest.raises(InputError, match="sersic_n"):
        sample_lsbg(np.random.default_rng(1), fixed={"sersic_n": 9.0})


def test_unfixed_draws_are_unchanged() -> None:
    a = sample_lsbg(np.random.default_rng(7))
    b = sample_lsbg(np.random.default_rng(7), fixed={})
    assert a == b


def test_grid_fills_every_cell_equally() -> None:
    grid = parse_grid("mu,r_eff")
    assert grid == ("mu_eff", "r_eff")
    cells = (len(AXES["mu_eff"].edges) - 1) * (len(AXES["r_eff"].edges) - 1)
    truths = draw_truths(2 * cells, grid, seed=3)
    mu = np.array([t["mu_mean_g"] for t in truths])
    r = np.array([t["r_eff"] for t in truths])
    counts = np.histogram2d(mu, r, bins=[AXES["mu_eff"].edges, AXES["r_eff"].edges])[0]
    assert (counts == 2).all()
    assert draw_truths(3, (), seed=0) == [{}, {}, {}]
    assert draw_truths(5, grid, seed=3) == draw_truths(5, grid, seed=3)
    with pytest.raises(InputError, match="--grid: unknown axis 'size'"):
        parse_grid("mu_eff,size")


def test_injection_is_exact_in_flux_on_a_blank_field() -> None:
    survey = get_survey("des")
    size = survey.stamp_pixels
    noise = survey.pixel_noise()
    rng = np.random.default_rng(11)
    blank = {b: rng.normal(0.0, noise[b], (size, size)).astype(np.float32) for b in BANDS}
    params = sample_lsbg(
        rng, fixed={"mu_mean_g": 24.6, "r_eff": 3.0, "sersic_n": 0.8, "q": 0.8, "g_i": 0.5}
    ) | {"knot_fraction": 0.0, "nucleus_fraction": 0.0, "x": 0.0, "y": 0.0}
    injected, record = inject_lsbg(blank, params, rng, survey)
    truth = band_fluxes(params["mag_g"], params["g_r"], params["r_i"], params["i_z"])
    c = (size - 1) / 2
    radius = 0.45 * size  # 19 arcsec: holds the profile, inside the stamp
    for k, band in enumerate(BANDS):
        flux, err, _ = sep.sum_circle(
            np.ascontiguousarray(injected[band], dtype=np.float64), [c], [c], radius, err=noise[band]
        )
        assert abs(flux[0] - truth[k]) < 4 * err[0], band
        assert record[f"injected_flux_{band}"] == pytest.approx(truth[k], rel=2e-3)
    with pytest.raises(InputError, match="square"):
        inject_lsbg({"g": np.zeros((4, 5))}, params, rng, survey)


def test_wilson_interval() -> None:
    low, high = binomial_interval(np.array([0, 5, 10, 0]), np.array([10, 10, 10, 0]))
    assert low[0] == 0.0 and 0.2 < high[0] < 0.35
    assert low[1] == pytest.approx(1 - high[1])
    assert high[2] == pytest.approx(1.0)
    assert np.isnan(low[3]) and np.isnan(high[3])


def _synthetic(n: int = 4000, mu50: float = 26.3) -> Table:
    rng = np.random.default_rng(0)
    mu = rng.uniform(23.5, 28.5, n)
    passed = (rng.random(n) < 1 / (1 + np.exp((mu - mu50) / 0.15))).astype(float)
    table = Table({"kind": ["lsbg"] * n, "mu_mean_g": mu, "r_eff": np.full(n, 6.0)})
    for stage in ("preselection", "classifier", "both"):
        table[f"passed_{stage}"] = passed
    return table


def test_mu_at_half_completeness_finds_the_crossing() -> None:
    table = _synthetic()
    found = mu_at_completeness(table, 6.0, stage="both", n_boot=50)
    assert found.value == pytest.approx(26.3, abs=0.08)
    assert found.low <= found.value <= found.high
    assert np.isnan(mu_at_completeness(table, 3.0, stage="both").value)  # no LSBG of that size


def test_binned_completeness_counts() -> None:
    table = _synthetic(400)
    binned = binned_completeness(table, ("mu_eff",))
    assert binned["n"].sum() == 400
    assert binned["k_both"].sum() == int(table["passed_both"].sum())
    bright = binned[binned["mu_eff_high"] <= 25.0]
    assert (bright["both"] > 0.9).all() and (bright["both_low"] <= bright["both"]).all()
