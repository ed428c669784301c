"""Bright type-2 artifacts (G galaxies, H saturated stars, I crowded fields) and the mix that uses them."""

from __future__ import annotations

import numpy as np
import pytest

from deepshadows.classes import PRESELECTION_EXEMPT, SUBCLASS_NAMES, TYPE1_SUBCLASSES
from deepshadows.simulate import TYPE2_MIX, CutoutSpec, SimConfig, assign_classes, simulate_cutout
from deepshadows.simulate.artifacts import draw_artifact, sample_artifact
from deepshadows.simulate.cutout import truth_columns
from deepshadows.simulate.render import PSFModel, Scene
from deepshadows.surveys import BANDS, get_survey
from deepshadows.viewer import bands_to_cutout

NEW = ("G", "H", "I")


@pytest.mark.parametrize("subclass", NEW)
def test_bright_subclass_renders_deterministically_without_preselection(subclass):
    spec = CutoutSpec(kind="type2", subclass=subclass)
    first, again = simulate_cutout(spec, 21), simulate_cutout(spec, 21)
    assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
    assert np.array_equal(first.image, again.image)
    assert first.truth == pytest.approx(again.truth, nan_ok=True)
    assert first.truth["attempts"] == 1  # exempt from the catalogue preselection
    assert subclass in SUBCLASS_NAMES and subclass in PRESELECTION_EXEMPT


def test_preselection_exemptions_are_the_bright_subclasses():
    assert PRESELECTION_EXEMPT == TYPE1_SUBCLASSES | set(NEW)
    assert not PRESELECTION_EXEMPT & {"A", "B", "C", "D", "F"}


def test_bright_galaxy_is_an_ordinary_galaxy_above_the_surface_brightness_cut():
    rng = np.random.default_rng(8)
    draws = [sample_artifact(rng, "G", get_survey("des")) for _ in range(400)]
    mu = np.array([d["galaxy_mu_eff_g"] for d in draws])
    r_eff = np.array([d["galaxy_r_eff"] for d in draws])
    q = np.maximum([d["galaxy_q"] for d in draws], 0.3)
    mag = np.array([d["galaxy_mag_g"] for d in draws])
    assert np.allclose(mag, mu - 2.5 * np.log10(2 * np.pi * r_eff**2 * q))
    assert mu.min() >= 23.6 and mu.max() <= 25.0 and r_eff.min() >= 2.5 and r_eff.max() <= 8.0
    offset = np.hypot([d["galaxy_x"] for d in draws], [d["galaxy_y"] for d in draws])
    assert 0.5 < np.mean(offset < 2.5) < 0.7 and offset.max() <= 12.0


def test_bright_galaxy_puts_its_light_where_its_truth_says():
    survey = get_survey("des")
    sigma = survey.pixel_noise()["g"]
    for seed in range(3):
        result = simulate_cutout(CutoutSpec(kind="type2", subclass="G"), 100 + seed)
        truth, n = result.truth, result.bands.shape[-1]
        x = n // 2 + round((truth["galaxy_x"] - truth["recentre_dx"]) / survey.native_scale)
        y = n // 2 + round((truth["galaxy_y"] - truth["recentre_dy"]) / survey.native_scale)
        core = result.bands[0, y - 3 : y + 4, x - 3 : x + 4]
        assert core.mean() > 5 * sigma


def _masked_star_cutout(factors: dict[str, float]) -> np.ndarray:
    survey = get_survey("des")
    rng = np.random.default_rng(5)
    params = sample_artifact(rng, "H", survey)
    params |= {"host_x": 0.0, "host_y": 0.0, "host_mag_g": 12.0, "mask_radius": 2.5, "halo_mag_g": np.nan}
    params |= {"bleed_length": 0.0, "ghost_radius": 0.0}
    for band in BANDS:
        params[f"mask_factor_{band}"] = factors[band]
        params[f"mask_fill_{band}"] = 0.0
    scene = Scene(survey.stamp_pixels, survey.native_scale, [PSFModel(fwhm=1.0) for _ in BANDS])
    draw_artifact(scene, "H", params, rng, survey)
    return bands_to_cutout(scene.render(), survey=survey)


def test_masked_star_core_shows_coloured_rings_and_white_pixels():
    # r (the viewer's green) masked widest: a magenta ring, then a white saturated halo.
    image = _masked_star_cutout({"g": 0.6, "r": 1.4, "i": 1.0, "z": 0.8}).astype(int)
    centre = image[24:40, 24:40]
    assert (centre.min(axis=-1) >= 240).any()  # saturated: white
    spread = centre.max(axis=-1) - centre.min(axis=-1)
    assert spread.max() > 150  # a coloured ring: channels differ strongly
    magenta = (centre[..., 0] > 200) & (centre[..., 2] > 200) & (centre[..., 1] < 80)
    assert magenta.any()
    # The same star with equal mask radii has no coloured ring.
    plain = _masked_star_cutout(dict.fromkeys(BANDS, 1.0)).astype(int)[24:40, 24:40]
    assert (plain.max(axis=-1) - plain.min(axis=-1)).max() < spread.max()


def test_crowded_field_fills_the_cutout():
    for seed in range(3):
        result = simulate_cutout(CutoutSpec(kind="type2", subclass="I"), 300 + seed)
        assert result.image.mean() > 20


def test_simulate_uses_the_bright_mix():
    assert set(NEW) <= set(TYPE2_MIX) and abs(sum(TYPE2_MIX.values()) - 1.0) < 1e-9
    assert SimConfig().type2_mix == TYPE2_MIX
    kinds, subclasses = assign_classes(SimConfig(n=2000, seed=4))
    drawn = subclasses[kinds == "type2"]
    for subclass, share in TYPE2_MIX.items():
        assert abs(np.mean(drawn == subclass) - share) < 0.05
    columns = set(truth_columns())
    assert {"galaxy_morph", "mask_radius", "mask_factor_r", "crowd_mode", "big_mu_g"} <= columns
