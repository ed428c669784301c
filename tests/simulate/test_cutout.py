"""One simulated cutout: physics checks against the truth, determinism and class recipes."""

from __future__ import annotations

import numpy as np
import pytest

from deepshadows.features import FEATURE_NAMES
from deepshadows.simulate import SUBCLASS_NAMES, CutoutSpec, render_bands, simulate_cutout
from deepshadows.simulate.cutout import truth_columns
from deepshadows.simulate.lsbg import LSBGPriors, sample_lsbg
from deepshadows.simulate.photometry import mean_sb_to_mag, sersic_b

COLUMN = {name: k for k, name in enumerate(FEATURE_NAMES)}


def test_mean_surface_brightness_measured_matches_truth():
    """sep's MU_MEAN of simulated LSBGs with R_eff >= 3 arcsec lies within 0.3 mag of the truth."""
    priors = LSBGPriors(r_eff_range=(3.0, 8.0), sb_range=(24.2, 25.5))
    spec = CutoutSpec(kind="lsbg", lsbg_priors=priors, preselect=False)
    offsets, radii = [], []
    for seed in range(24):
        result = simulate_cutout(spec, seed)
        if not np.isfinite(result.features[COLUMN["mu_mean_g"]]):
            continue
        offsets.append(result.features[COLUMN["mu_mean_g"]] - result.truth["mu_mean_g"])
        radii.append(
            result.features[COLUMN["flux_radius_g"]] / (result.truth["r_eff"] * np.sqrt(result.truth["q"]))
        )
    assert len(offsets) >= 20
    assert abs(np.median(offsets)) < 0.3
    # PSF blurring (about 1.05x) and blended field neighbours widen the measured radius a little.
    assert 0.7 <= np.median(radii) <= 1.2


def test_lsbg_priors_respect_the_catalogue_definition():
    rng = np.random.default_rng(3)
    draws = [sample_lsbg(rng) for _ in range(2000)]
    r_eff = np.array([d["r_eff"] for d in draws])
    mu = np.array([d["mu_mean_g"] for d in draws])
    red = np.array([d["red"] for d in draws])
    g_i = np.array([d["g_i"] for d in draws])
    assert r_eff.min() >= 2.5 and mu.min() >= 24.2 and mu.max() <= 27.0
    assert 0.30 < red.mean() < 0.36
    assert np.all(g_i[red == 1] >= 0.6) and np.all(g_i[red == 0] < 0.6)
    assert np.median(mu[red == 1]) > np.median(mu[red == 0])
    # Magnitudes follow from the mean surface brightness inside the effective ellipse.
    d = draws[0]
    assert d["mag_g"] == pytest.approx(mean_sb_to_mag(d["mu_mean_g"], d["r_eff"], d["q"]))


def test_sersic_b_matches_tabulated_values():
    assert sersic_b(1.0) == pytest.approx(1.678, abs=1e-3)
    assert sersic_b(4.0) == pytest.approx(7.669, abs=1e-3)


def test_same_seed_gives_identical_arrays():
    spec = CutoutSpec(kind="type2", subclass="A")
    first, second = simulate_cutout(spec, 7), simulate_cutout(spec, 7)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.bands, second.bands)
    np.testing.assert_array_equal(first.features, second.features)
    assert first.truth == second.truth
    assert not np.array_equal(first.image, simulate_cutout(spec, 8).image)


@pytest.mark.parametrize("subclass", sorted(SUBCLASS_NAMES))
@pytest.mark.parametrize("survey", ["des", "hsc"])
def test_every_artifact_subclass_renders(survey, subclass):
    kind = "type1" if subclass == "E" else "type2"
    bands, truth = render_bands(
        CutoutSpec(survey=survey, kind=kind, subclass=subclass), np.random.default_rng(1)
    )
    assert bands.dtype == np.float32 and bands.ndim == 3 and bands.shape[0] == 4
    assert np.isfinite(bands).all()
    assert set(truth) <= set(truth_columns())


def test_type1_star_saturates_the_centre_and_has_spikes():
    from deepshadows.simulate.artifacts import draw_artifact, sample_artifact
    from deepshadows.simulate.render import PSFModel, Scene
    from deepshadows.surveys import DES
    from deepshadows.viewer import bands_to_cutout

    rng = np.random.default_rng(0)
    params = sample_artifact(rng, "E", DES) | {
        "host_mag_g": 10.0,
        "host_x": 0.0,
        "host_y": 0.0,
        "spike_angle": 0.0,
        "spike_fraction": 0.02,
    }
    scene = Scene(DES.stamp_pixels, DES.native_scale, [PSFModel(fwhm=1.0)] * 4)
    draw_artifact(scene, "E", params, rng, DES)
    cutout = bands_to_cutout(scene.render(), survey=DES, size=256).astype(int)
    assert (cutout[120:136, 120:136] >= 250).all()  # white core
    # A horizontal spike: bright along the central row far from the core, dark off it.
    along = cutout[126:130, 200:230].sum(axis=2).mean()
    beside = cutout[100:104, 200:230].sum(axis=2).mean()
    assert along > beside + 30
    assert simulate_cutout(CutoutSpec(kind="type1", subclass="E"), 11).truth["attempts"] == 1


def test_preselection_is_enforced_for_type2_artifacts():
    spec = CutoutSpec(kind="type2", subclass="D")
    results = [simulate_cutout(spec, seed) for seed in range(6)]
    passed = [r.truth["preselected"] for r in results]
    assert np.mean(passed) >= 0.8
    for r in results:
        if r.truth["preselected"]:
            assert 2.5 < r.features[COLUMN["flux_radius_g"]] < 20


def test_sky_noise_matches_the_survey_depth():
    from deepshadows.surveys import BANDS, DES

    spec = CutoutSpec(kind="type2", subclass="F")
    bands, _ = render_bands(spec, np.random.default_rng(5))
    sigma = np.array([DES.pixel_noise()[b] for b in BANDS])
    # Robust scatter over the whole stamp: the few source pixels hardly move the MAD.
    measured = np.array([np.median(np.abs(c - np.median(c))) * 1.4826 for c in bands])
    np.testing.assert_allclose(measured, sigma, rtol=0.2)


def test_a_numerical_failure_of_one_draw_costs_a_redraw(monkeypatch):
    import galsim

    from deepshadows.simulate import cutout

    original = cutout.render_bands
    calls = {"n": 0}

    def flaky(spec, rng):
        calls["n"] += 1
        if calls["n"] == 1:
            raise galsim.GalSimError("Solve error")
        return original(spec, rng)

    monkeypatch.setattr(cutout, "render_bands", flaky)
    result = cutout.simulate_cutout(CutoutSpec(kind="lsbg"), 3)
    assert result.truth["render_errors"] == 1 and result.image.shape == (64, 64, 3)
