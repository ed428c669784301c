"""The viewer's image pipeline: geometry, stretch, 8-bit conversion and sky statistics."""

from __future__ import annotations

import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.surveys import BANDS, DES, HSC
from deepshadows.viewer import asinh_rgb, bands_to_cutout, lanczos_matrix, resample_to_viewer


def _sky(survey, rng, n=160):
    sigma = np.array([survey.noise_sigma[b] for b in BANDS], dtype=np.float32)[:, None, None]
    return sigma * rng.standard_normal((4, n, n)).astype(np.float32)


def test_empty_sky_is_grey_32():
    cutout = bands_to_cutout(np.zeros((4, 160, 160)), survey="des")
    assert cutout.shape == (64, 64, 3) and cutout.dtype == np.uint8
    assert np.all(cutout == 32)  # 0.03 * asinh(20 * 0.03) / sqrt(20) / 0.03 * 255 = 32.4, truncated


@pytest.mark.parametrize(
    ("survey", "resize", "expected_std"),
    [
        (DES, "nearest", (16, 10, 12)),
        (HSC, "nearest", (13, 10, 10)),
        (DES, "bicubic", (9, 5, 6)),
    ],
)
def test_sky_only_statistics_match_the_science_specification(survey, resize, expected_std):
    rng = np.random.default_rng(1)
    cutouts = np.stack(
        [
            bands_to_cutout(_sky(survey, rng, survey.stamp_pixels), survey=survey, resize=resize)
            for _ in range(8)
        ]
    ).astype(float)
    mean = cutouts.mean(axis=(0, 1, 2))
    std = cutouts.std(axis=(1, 2)).mean(axis=0)
    np.testing.assert_allclose(mean, 32.0, atol=1.5)
    np.testing.assert_allclose(std, expected_std, rtol=0.3)
    # The z band (red channel) is the noisiest in DES.
    if survey is DES:
        assert std[0] == std.max()


def test_bright_grey_source_saturates_to_white():
    # A grey source with intensity I >= sinh(sqrt(Q)) / Q = 2.188 after scaling turns white.
    bands = np.zeros((4, 160, 160), dtype=np.float32)
    for k, band in enumerate(BANDS):
        bands[k, 50:110, 50:110] = 2.5 / DES.rgb_scale[band]
    cutout = bands_to_cutout(bands, survey="des")
    assert np.all(cutout[24:40, 24:40] == 255)


def test_stretch_threshold_of_white():
    level = np.sinh(np.sqrt(20.0)) / 20.0
    just_below = {b: np.full((1, 1), 0.97 * level - 0.03, np.float32) for b in "gzr"}
    just_above = {b: np.full((1, 1), 1.01 * level - 0.03, np.float32) for b in "gzr"}
    scales = {"g": 1.0, "r": 1.0, "z": 1.0}
    assert np.all(asinh_rgb(just_below, scales=scales) < 1.0)
    assert np.all(asinh_rgb(just_above, scales=scales) == 1.0)


def test_lanczos_rows_sum_to_one_and_keep_constants():
    weights = lanczos_matrix(160, 0.263, 256, 0.131)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    out = resample_to_viewer(np.full((3, 160, 160), 0.7, np.float32), native_scale=0.263, survey=DES)
    np.testing.assert_allclose(out, 0.7, atol=1e-5)


def test_field_of_view_per_survey():
    assert DES.field_of_view == pytest.approx(33.5, abs=0.1)
    assert HSC.field_of_view == pytest.approx(21.5, abs=0.1)
    assert DES.stamp_pixels * DES.native_scale > DES.field_of_view
    assert HSC.stamp_pixels * HSC.native_scale > HSC.field_of_view


@pytest.mark.parametrize("survey", [DES, HSC])
def test_a_source_at_the_field_edge_lands_at_the_cutout_edge(survey):
    """A bright spot north of the centre lands at the matching place of the cutout, north up."""
    n = survey.stamp_pixels
    offset = 0.4 * survey.field_of_view  # arcsec north of the centre
    bands = np.zeros((4, n, n), dtype=np.float32)
    row = int(round((n - 1) / 2 + offset / survey.native_scale))  # FITS: row index grows northwards
    bands[:, row - 1 : row + 2, n // 2 - 1 : n // 2 + 2] = 10.0
    cutout = bands_to_cutout(bands, survey=survey, size=256).astype(float).sum(axis=2)
    excess = np.clip(cutout - 3 * 32, 0, None)
    centroid_row = (excess.sum(axis=1) * np.arange(256)).sum() / excess.sum()
    centroid_col = (excess.sum(axis=0) * np.arange(256)).sum() / excess.sum()
    expected = (256 - 1) / 2 - offset / survey.viewer_scale  # north is up: smaller row index
    assert abs(centroid_row - expected) <= 1.5
    assert abs(centroid_col - 127.5) <= 1.5


def test_bad_band_array_is_rejected_with_a_clear_message():
    with pytest.raises(InputError, match="shape"):
        bands_to_cutout(np.zeros((3, 10, 10)), survey="des")
    with pytest.raises(InputError, match="resize"):
        bands_to_cutout(np.zeros((4, 160, 160)), survey="des", resize="box")  # type: ignore[arg-type]
