"""Domain randomisation: per-cutout conditions, recorded in the truth, off with ``none``."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.simulate import SimConfig, make_dataset
from deepshadows.simulate.cutout import CutoutSpec, simulate_cutout
from deepshadows.simulate.randomize import (
    Randomization,
    condition_columns,
    conditions_rng,
    draw_conditions,
    randomization_for,
)
from deepshadows.surveys import DES, LS_DR10, get_survey


def test_conditions_stay_within_their_ranges_and_cover_every_filter():
    randomization = randomization_for(DES, "default")
    assert randomization is not None
    draws = [draw_conditions(conditions_rng(i), DES, randomization) for i in range(400)]
    fov = np.array([c.field_of_view for c in draws])
    assert fov.min() >= 30.0 and fov.max() <= 40.0
    assert np.isclose(fov, DES.field_of_view).mean() > 0.2  # the viewer's own zoom-15 field
    assert {c.resize for c in draws} == {"nearest", "bicubic", "lanczos"}
    noise = np.array([c.noise_factor for c in draws])
    assert noise.min() > 0.35 * np.exp(-4 * 0.15) and noise.max() < 1.3 * np.exp(4 * 0.15)
    quality = np.array([c.recompress_quality for c in draws])
    assert 0.35 < (quality == 0).mean() < 0.65
    assert quality[quality > 0].min() >= 70 and quality.max() <= 95
    # Colour multipliers: a per-band factor times a gain common to the three bands.
    rgb = np.array([c.rgb_factor for c in draws])
    low = randomization.rgb_scale_range[0] * randomization.display_gain_range[0]
    high = randomization.rgb_scale_range[1] * randomization.display_gain_range[1]
    assert rgb.min() >= low and rgb.max() <= high
    common = np.exp(np.log(rgb).mean(axis=1))
    assert common.min() < 0.7 and np.corrcoef(np.log(rgb[:, 0]), np.log(rgb[:, 2]))[0, 1] > 0.3


def test_conditions_stream_is_independent_of_the_object_stream():
    seed = np.random.SeedSequence(5, spawn_key=(3,))
    first = np.random.default_rng(seed).random(4)
    draw_conditions(conditions_rng(seed), DES, Randomization())
    assert np.array_equal(np.random.default_rng(seed).random(4), first)
    a = draw_conditions(conditions_rng(seed), DES, Randomization())
    b = draw_conditions(conditions_rng(np.random.SeedSequence(5, spawn_key=(3,))), DES, Randomization())
    assert a == b


def test_applied_conditions_change_noise_seeing_colours_and_field():
    c = draw_conditions(
        conditions_rng(1), DES, Randomization(field_of_view_range=(39.0, 40.0), viewer_field_fraction=0.0)
    )
    seen = c.apply_to(DES)
    assert seen.noise_sigma["g"] == pytest.approx(DES.noise_sigma["g"] * c.noise_factor[0])
    assert seen.psf_fwhm["r"] == pytest.approx(DES.psf_fwhm["r"] + c.seeing_offset)
    assert seen.rgb_scale["z"] == pytest.approx(DES.rgb_scale["z"] * c.rgb_factor[0])
    assert seen.field_of_view == pytest.approx(c.field_of_view)
    # The stamp grows so that a 3" re-centring never shows its edge.
    assert seen.stamp_arcsec >= c.field_of_view + 6.0


def test_randomised_cutout_records_its_conditions_and_none_matches_the_fixed_pipeline():
    spec = CutoutSpec(survey="des", kind="lsbg", randomization=randomization_for(DES, "default"))
    seed = np.random.SeedSequence(11, spawn_key=(0,))
    randomised = simulate_cutout(spec, seed)
    assert set(condition_columns()) <= set(randomised.truth)
    fixed = simulate_cutout(dataclasses.replace(spec, randomization=None), seed)
    assert not set(condition_columns()) & set(fixed.truth)
    # Same object parameters, different rendering.
    assert randomised.truth["r_eff"] == fixed.truth["r_eff"]
    assert not np.array_equal(randomised.image, fixed.image)


def test_unknown_mode_names_the_option():
    with pytest.raises(InputError, match="--randomize"):
        randomization_for(DES, "all")


def test_explicit_resize_fixes_the_filter():
    randomization = randomization_for(DES, "default", resize="bicubic")
    assert randomization is not None
    assert {draw_conditions(conditions_rng(i), DES, randomization).resize for i in range(30)} == {"bicubic"}


def test_store_records_randomisation_and_ls_dr10_is_quieter_than_des(tmp_path):
    stores = {}
    for survey, randomize in (("des", "none"), ("ls-dr10", "none"), ("des", "default")):
        out = tmp_path / f"{survey}-{randomize}.h5"
        make_dataset(
            out, SimConfig(survey=survey, n=24, seed=2, randomize=randomize), workers=1, progress=False
        )
        stores[survey, randomize] = out
    with h5py.File(stores["des", "default"]) as f:
        assert '"depth_range"' in f.attrs["randomization"]
        truth = f["truth"][:]
        assert np.isfinite(truth["rand_field_of_view"]).all()
    with h5py.File(stores["des", "none"]) as f:
        assert np.isnan(f["truth"]["rand_field_of_view"]).all()
        des_images = f["images"][:].astype(float)
    with h5py.File(stores["ls-dr10", "none"]) as f:
        ls_images = f["images"][:].astype(float)

    # Background scatter: the median absolute deviation of the cutouts' border pixels.
    def border_mad(images: np.ndarray) -> float:
        border = np.concatenate([images[:, :6].reshape(-1, 3), images[:, -6:].reshape(-1, 3)])
        return float(np.median(np.abs(border - np.median(border, axis=0))))

    assert border_mad(ls_images) < 0.75 * border_mad(des_images)
    assert get_survey("ls-dr10") is LS_DR10 and LS_DR10.resize == "lanczos"


def test_paper_mix_and_no_randomisation_make_the_earlier_kind_of_set(tmp_path):
    from deepshadows.cli.main import main

    out = tmp_path / "paper.h5"
    args = ["simulate", "--n", "40", "--seed", "4", "--workers", "1", "--quiet", "--no-summary"]
    assert main([*args, "--randomize", "none", "--artifact-mix", "paper", "--out", str(out)]) == 0
    with h5py.File(out) as f:
        subclasses = {s.decode() for s in f["subclass"][:]} - {""}
        assert np.isnan(f["truth"]["rand_field_of_view"]).all()
    assert subclasses and subclasses <= set("ABCDF")
