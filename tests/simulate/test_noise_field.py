"""Sky noise (correlated, depth-preserving) and the field sky's windows."""

from __future__ import annotations

import numpy as np
import pytest

from deepshadows.simulate.field import FieldSky, add_field, build_field_sky
from deepshadows.simulate.noise import add_noise, pixel_sigma_factor
from deepshadows.simulate.render import PSFModel, Scene


def test_correlated_noise_keeps_the_aperture_depth_and_lowers_pixel_scatter():
    rng = np.random.default_rng(0)
    bands = np.zeros((1, 512, 512), dtype=np.float32)
    add_noise(bands, np.array([1.0]), rng, correlation_px=0.38)
    assert bands.std() == pytest.approx(pixel_sigma_factor(0.38), rel=0.02)
    assert pixel_sigma_factor(0.38) < 0.95
    # The noise of a sum over 8 x 8 pixels is that of white noise with the nominal sigma.
    boxes = bands[0].reshape(64, 8, 64, 8).sum(axis=(1, 3))
    assert boxes.std() == pytest.approx(8.0, rel=0.06)


def test_white_noise_when_uncorrelated():
    bands = np.zeros((2, 256, 256), dtype=np.float32)
    add_noise(bands, np.array([2.0, 0.5]), np.random.default_rng(1))
    np.testing.assert_allclose(bands.std(axis=(1, 2)), [2.0, 0.5], rtol=0.02)


def _sky_with_marker():
    """A sky with one bright star and a marker pixel at the same place in the extended layer."""
    n = 300
    extended = np.zeros((4, n, n), dtype=np.float32)
    star = np.array([[170.0, 120.0]])  # column, row
    extended[:, 120, 170] = 1.0
    return FieldSky(
        extended=extended,
        pixel_scale=0.25,
        source_xy=np.zeros((0, 2)),
        star_xy=star,
        star_fluxes=np.full((1, 4), 50.0),
        n_galaxies=0,
    )


@pytest.mark.parametrize("seed", range(8))
def test_field_window_orientation_moves_stars_with_the_sky(seed):
    sky = _sky_with_marker()
    rng = np.random.default_rng(seed)
    for _ in range(20):
        scene = Scene(200, 0.25, [PSFModel(fwhm=1.0)] * 4)
        truth = add_field(scene, rng, sky, keep_centre_clear=False)
        marker = np.argwhere(scene.extended[0] > 0.5)
        if len(marker) == 0:
            continue
        star_row, star_col = np.unravel_index(np.argmax(scene.direct[0]), scene.direct[0].shape)
        assert (star_row, star_col) == tuple(marker[0]), truth
        return
    pytest.skip("marker never inside the window for this seed")


def test_field_sky_counts_and_clear_centres():
    rng = np.random.default_rng(2)
    sky = build_field_sky("des", rng, n_pixels=512)
    area = (512 * 0.263 / 3600) ** 2
    assert 0.5 * 1.4e5 * 2 * area < sky.n_galaxies < 2.0 * 1.4e5 * 2 * area
    assert sky.extended.dtype == np.float32 and sky.extended.sum() > 0
    scene = Scene(160, 0.263, [PSFModel(fwhm=1.0)] * 4)
    for _ in range(10):
        add_field(scene, rng, sky, keep_centre_clear=True)
