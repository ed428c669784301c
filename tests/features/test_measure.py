"""Tests of the sep-based SourceExtractor-style features and the T21 preselection."""

from __future__ import annotations

import galsim
import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.features import (
    FEATURE_NAMES,
    FLAG_MEASUREMENT_FAILED,
    FLAG_NO_DETECTION,
    FLAG_NONPOSITIVE_FLUX,
    MU_SENTINEL,
    measure_features,
    measure_many,
    passes_preselection,
)
from deepshadows.features import measure as measure_module

PIXEL_SCALE = 0.263
SIZE = 160
#: DES white-noise sigma per native pixel, g, r, i, z (nmgy).
SIGMA = (0.00282, 0.00355, 0.00640, 0.01278)
PSF = galsim.Moffat(beta=3, fwhm=1.0)
COL = {name: k for k, name in enumerate(FEATURE_NAMES)}


def _noise(seed: int, size: int = SIZE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.normal(0.0, s, (size, size)) for s in SIGMA])


def _flux(mag: float) -> float:
    return 10 ** ((22.5 - mag) / 2.5)


def _lsbg(mu_mean_g, r_eff, q, g_i, *, beta=30.0, n=0.8, seed=1, offset=(0.0, 0.0)):
    """Noisy g, r, i, z images of an LSBG with the given truth; returns (bands, truth dict)."""
    g_r = 0.016 + 0.654 * g_i
    i_z = 0.7 * (g_i - g_r)
    m_g = mu_mean_g - 2.5 * np.log10(2 * np.pi * r_eff**2 * q)
    mags = (m_g, m_g - g_r, m_g - g_i, m_g - g_i - i_z)
    images = []
    for mag in mags:
        gal = galsim.Sersic(n=n, half_light_radius=r_eff * np.sqrt(q), flux=_flux(mag))
        gal = gal.shear(q=q, beta=beta * galsim.degrees)
        image = galsim.Convolve(gal, PSF).drawImage(
            nx=SIZE,
            ny=SIZE,
            scale=PIXEL_SCALE,
            offset=(offset[0] / PIXEL_SCALE, offset[1] / PIXEL_SCALE),
        )
        images.append(image.array)
    truth = {"m_g": m_g, "g_i": g_i, "g_r": g_r, "r_i": g_i - g_r, "mu_mean_g": mu_mean_g}
    return np.stack(images) + _noise(seed), truth


def _star(mag_g: float, *, seed: int = 5, dx: float = 0.0) -> np.ndarray:
    colours = (0.0, 0.5, 0.7, 0.8)  # g - b for b = g, r, i, z
    images = [
        PSF.withFlux(_flux(mag_g - c))
        .drawImage(nx=SIZE, ny=SIZE, scale=PIXEL_SCALE, offset=(dx / PIXEL_SCALE, 0.0))
        .array
        for c in colours
    ]
    return np.stack(images) + _noise(seed)


def _measure(bands, **kwargs):
    return measure_features(bands, pixel_scale=PIXEL_SCALE, noise_sigma=SIGMA, **kwargs)


def test_feature_names_follow_training_matrix_order():
    assert len(FEATURE_NAMES) == 19
    assert FEATURE_NAMES[:7] == (
        "ellipticity",
        "g_i",
        "g_r",
        "r_i",
        "mag_auto_g",
        "mag_auto_r",
        "mag_auto_i",
    )
    assert FEATURE_NAMES[7:10] == ("flux_radius_g", "flux_radius_r", "flux_radius_i")
    assert FEATURE_NAMES[10:13] == ("mu_max_g", "mu_max_r", "mu_max_i")
    assert FEATURE_NAMES[13:16] == ("mu_eff_g", "mu_eff_r", "mu_eff_i")
    assert FEATURE_NAMES[16:] == ("mu_mean_g", "mu_mean_r", "mu_mean_i")
    assert len({FLAG_NO_DETECTION, FLAG_MEASUREMENT_FAILED, FLAG_NONPOSITIVE_FLUX}) == 3


@pytest.mark.parametrize(
    ("mu_mean_g", "r_eff", "q", "g_i", "beta", "seed"),
    [
        (25.0, 4.0, 0.7, 0.5, 30.0, 1),  # typical blue LSBG
        (24.8, 6.0, 0.8, 1.0, 120.0, 2),  # large red LSBG
        (25.2, 5.0, 0.6, 0.8, 75.0, 3),  # fainter, elongated
    ],
)
def test_lsbg_features_recover_truth(mu_mean_g, r_eff, q, g_i, beta, seed):
    bands, truth = _lsbg(mu_mean_g, r_eff, q, g_i, beta=beta, seed=seed)
    features, flag = _measure(bands)

    assert flag == 0
    assert features.shape == (19,) and features.dtype == np.float64
    assert np.all(np.isfinite(features))
    # Mean surface brightness inside the half-light radius: the elliptical truth.
    assert features[COL["mu_mean_g"]] == pytest.approx(truth["mu_mean_g"], abs=0.3)
    # Circular half-light radius of the sheared, PSF-convolved profile: about 1.04 R_eff sqrt(q)
    # for the total flux, less when normalised to the Kron flux.
    ratio = features[COL["flux_radius_g"]] / (r_eff * np.sqrt(q))
    assert 0.7 < ratio < 1.1
    # Kron magnitudes miss a little light, never gain much.
    assert -0.1 < features[COL["mag_auto_g"]] - truth["m_g"] < 0.3
    for colour in ("g_i", "g_r", "r_i"):
        assert features[COL[colour]] == pytest.approx(truth[colour], abs=0.15)
    assert features[COL["ellipticity"]] == pytest.approx(1 - q, abs=0.12)
    # Surface brightnesses are ordered: peak brighter than mean, mean brighter than at r_h.
    for band in "gri":
        assert features[COL[f"mu_max_{band}"]] < features[COL[f"mu_mean_{band}"]]
        assert features[COL[f"mu_mean_{band}"]] < features[COL[f"mu_eff_{band}"]]
    # Redder bands are brighter for these colours.
    assert features[COL["mag_auto_i"]] < features[COL["mag_auto_g"]]
    assert passes_preselection(features) is True


def test_pure_noise_gives_no_detection():
    features, flag = _measure(_noise(11))
    assert flag == FLAG_NO_DETECTION
    assert features.shape == (19,)
    assert np.all(np.isnan(features))
    assert passes_preselection(features) is False


def test_off_centre_object_is_not_the_candidate():
    bands, _ = _lsbg(25.0, 4.0, 0.7, 0.5, offset=(6.0, 0.0))
    features, flag = _measure(bands)
    assert flag == FLAG_NO_DETECTION
    assert np.all(np.isnan(features))
    # A wider search radius finds it.
    features, flag = _measure(bands, max_offset_arcsec=8.0)
    assert flag == 0
    assert np.isfinite(features[COL["mag_auto_g"]])


def test_point_source_fails_preselection_on_size():
    features, flag = _measure(_star(20.0))
    assert flag == 0
    assert features[COL["mag_auto_g"]] == pytest.approx(20.0, abs=0.15)
    assert features[COL["g_i"]] == pytest.approx(0.7, abs=0.1)
    assert features[COL["flux_radius_g"]] < 1.0
    assert features[COL["ellipticity"]] < 0.2
    assert passes_preselection(features) is False


def test_neighbour_is_masked_out_of_the_apertures():
    bands, _ = _lsbg(25.0, 4.0, 0.7, 0.5, seed=3)
    alone, _ = _measure(bands)
    star = _star(17.0, dx=10.0) - _noise(5)  # noiseless star 10" from the LSBG
    crowded, flag = _measure(bands + star)
    assert flag == 0
    assert crowded[COL["mag_auto_g"]] == pytest.approx(alone[COL["mag_auto_g"]], abs=0.1)
    assert crowded[COL["flux_radius_g"]] == pytest.approx(alone[COL["flux_radius_g"]], rel=0.1)


def test_background_subtraction_removes_a_constant_sky():
    bands, truth = _lsbg(25.0, 4.0, 0.7, 0.5, seed=4)
    features, flag = _measure(bands + 0.01, subtract_background=True)
    assert flag == 0
    assert features[COL["mu_mean_g"]] == pytest.approx(truth["mu_mean_g"], abs=0.3)
    assert features[COL["g_i"]] == pytest.approx(truth["g_i"], abs=0.15)


@pytest.mark.parametrize("subtract_background", [False, True])
@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_blank_images_do_not_raise(fill, subtract_background):
    features, flag = _measure(np.full((4, SIZE, SIZE), fill), subtract_background=subtract_background)
    assert flag == FLAG_NO_DETECTION
    assert np.all(np.isnan(features))


def test_non_finite_pixels_are_masked():
    bands, truth = _lsbg(25.0, 4.0, 0.7, 0.5, seed=6)
    bands[:, 10:20, 30:60] = np.nan
    bands[0, 84:86, 84:86] = np.inf
    bands[2, 90, 70] = -np.inf
    features, flag = _measure(bands)
    assert flag == 0
    assert np.all(np.isfinite(features))
    assert features[COL["mu_mean_g"]] == pytest.approx(truth["mu_mean_g"], abs=0.3)

    # A masked core leaves the central surface brightness unmeasurable, nothing else.
    bands[1, 77:83, 77:83] = np.nan
    features, flag = _measure(bands)
    assert flag == FLAG_MEASUREMENT_FAILED
    assert np.all(np.isnan(features[[COL["mu_max_g"], COL["mu_max_r"], COL["mu_max_i"]]]))
    assert features[COL["mu_mean_g"]] == pytest.approx(truth["mu_mean_g"], abs=0.3)
    assert features[COL["g_i"]] == pytest.approx(truth["g_i"], abs=0.15)


def test_nonpositive_flux_band_is_flagged():
    bands, _ = _lsbg(25.0, 4.0, 0.7, 0.5, seed=7)
    bands[0] = -bands[0]  # a g-band "hole" where the galaxy is
    features, flag = _measure(bands)
    assert flag & FLAG_NONPOSITIVE_FLUX
    assert not flag & FLAG_NO_DETECTION
    for name in ("mag_auto_g", "g_i", "g_r", "flux_radius_g"):
        assert np.isnan(features[COL[name]])
    assert features[COL["mu_mean_g"]] == MU_SENTINEL
    assert features[COL["mu_eff_g"]] == MU_SENTINEL
    assert features[COL["mu_max_g"]] == MU_SENTINEL
    assert np.isfinite(features[COL["r_i"]])
    assert np.isfinite(features[COL["mu_mean_r"]])
    assert passes_preselection(features) is False


def test_sep_failure_gives_nan_and_flag(monkeypatch):
    def broken_extract(*args, **kwargs):
        raise RuntimeError("internal pixel buffer full")

    monkeypatch.setattr(measure_module.sep, "extract", broken_extract)
    bands, _ = _lsbg(25.0, 4.0, 0.7, 0.5)
    features, flag = _measure(bands)
    assert flag == FLAG_MEASUREMENT_FAILED
    assert np.all(np.isnan(features))


def test_input_dtype_and_byte_order_do_not_matter():
    bands, _ = _lsbg(25.0, 4.0, 0.7, 0.5)
    reference, _ = _measure(bands)
    swapped, flag = _measure(bands.astype(">f4"))
    assert flag == 0
    np.testing.assert_allclose(swapped, reference, atol=1e-3)


@pytest.mark.parametrize(
    ("shape", "sigma"),
    [
        ((3, SIZE, SIZE), SIGMA),
        ((4, SIZE), SIGMA),
        ((4, SIZE, SIZE), SIGMA[:3]),
        ((4, SIZE, SIZE), (0.0, 0.1, 0.1, 0.1)),
    ],
)
def test_invalid_arguments_raise_input_error(shape, sigma):
    with pytest.raises(InputError):
        measure_features(np.zeros(shape), pixel_scale=PIXEL_SCALE, noise_sigma=sigma)


def test_measure_many_matches_single_measurements():
    lsbg, _ = _lsbg(25.0, 4.0, 0.7, 0.5)
    stack = np.stack([lsbg, _noise(12), _star(20.0)])
    features, flags = measure_many(stack, pixel_scale=PIXEL_SCALE, noise_sigma=SIGMA)
    assert features.shape == (3, 19) and features.dtype == np.float64
    assert flags.shape == (3,) and np.issubdtype(flags.dtype, np.integer)
    assert flags.tolist() == [0, FLAG_NO_DETECTION, 0]
    single, _ = _measure(lsbg)
    np.testing.assert_array_equal(features[0], single)
    assert passes_preselection(features).tolist() == [True, False, False]
    with pytest.raises(InputError):
        measure_many(lsbg, pixel_scale=PIXEL_SCALE, noise_sigma=SIGMA)


def _passing_vector() -> np.ndarray:
    features = np.zeros(19)
    features[COL["mu_mean_g"]] = 25.0
    features[COL["g_i"]] = 0.6
    features[COL["g_r"]] = 0.4
    features[COL["flux_radius_g"]] = 4.0
    features[COL["ellipticity"]] = 0.3
    return features


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mu_mean_g", 24.2),
        ("mu_mean_g", 28.1),
        ("g_i", -0.2),
        ("g_i", 1.5),
        ("g_r", 0.6 * 0.7 + 0.45),
        ("g_r", 0.6 * 0.7 - 0.45),
        ("flux_radius_g", 2.4),
        ("flux_radius_g", 21.0),
        ("ellipticity", 0.75),
        ("mu_mean_g", np.nan),
        ("g_i", np.nan),
        ("g_r", np.nan),
        ("flux_radius_g", np.nan),
        ("ellipticity", np.nan),
    ],
)
def test_preselection_cuts(name, value):
    features = _passing_vector()
    assert passes_preselection(features) is True
    features[COL[name]] = value
    assert passes_preselection(features) is False


def test_preselection_ignores_unused_features_and_batches():
    features = _passing_vector()
    features[COL["mag_auto_r"]] = np.nan  # not part of the cuts
    assert passes_preselection(features) is True
    batch = np.stack([features, np.full(19, np.nan), _passing_vector()])
    batch[2, COL["ellipticity"]] = 0.9
    result = passes_preselection(batch)
    assert result.dtype == bool and result.shape == (3,)
    assert result.tolist() == [True, False, False]
    assert passes_preselection(np.empty((0, 19))).shape == (0,)
    with pytest.raises(InputError):
        passes_preselection(np.zeros(18))
    with pytest.raises(InputError):
        passes_preselection(np.zeros((2, 3, 19)))
