"""Scene rendering: flux conservation, positions and PSF convolution."""

from __future__ import annotations

import galsim
import numpy as np
import pytest

from deepshadows.simulate.render import PSFModel, Scene

PSFS = [PSFModel(fwhm=f) for f in (1.1, 1.0, 0.9, 0.85)]


@pytest.mark.parametrize("hlr", [0.4, 1.0, 4.0])
def test_profile_flux_is_conserved_per_band(hlr):
    scene = Scene(160, 0.263, PSFS)
    fluxes = np.array([1.0, 2.0, 3.0, 4.0])
    scene.add_profile(galsim.Exponential(half_light_radius=hlr), fluxes, x=1.3, y=-2.1, half_light_radius=hlr)
    np.testing.assert_allclose(scene.extended.sum(axis=(1, 2)), fluxes, rtol=0.01)
    rendered = scene.render()
    np.testing.assert_allclose(rendered.sum(axis=(1, 2)), fluxes, rtol=0.015)


def test_profile_is_drawn_at_its_position():
    scene = Scene(161, 0.25, PSFS)
    scene.add_profile(galsim.Gaussian(sigma=0.5), [1, 1, 1, 1], x=5.0, y=-2.5, half_light_radius=0.6)
    image = scene.render()[0].astype(float)
    rows, cols = np.indices(image.shape)
    col = (image * cols).sum() / image.sum()
    row = (image * rows).sum() / image.sum()
    assert col == pytest.approx(80 + 5.0 / 0.25, abs=0.05)
    assert row == pytest.approx(80 - 2.5 / 0.25, abs=0.05)  # FITS orientation: y up = larger row


def test_psf_convolution_matches_galsim():
    """The FFT convolution with the PSF core equals GalSim's own convolution."""
    scene = Scene(128, 0.263, PSFS)
    galaxy = galsim.Sersic(1.0, half_light_radius=2.0).shear(q=0.6, beta=30 * galsim.degrees)
    scene.add_profile(galaxy, [1.0, 1.0, 1.0, 1.0], half_light_radius=2.0, extent=15.0)
    ours = scene.render()[1]
    reference = galsim.Convolve(galaxy, PSFS[1].core()).drawImage(nx=128, ny=128, scale=0.263).array
    assert np.abs(ours - reference).max() < 0.02 * reference.max()


def test_star_has_the_full_psf_flux_and_points_are_conserved():
    scene = Scene(200, 0.263, PSFS)
    scene.add_star(np.array([10.0, 10.0, 10.0, 10.0]), x=0.0, y=0.0)
    scene.add_points(np.array([3.0, -4.0]), np.array([1.0, 2.0]), np.array([[1, 1, 1, 1], [2, 2, 2, 2]]))
    np.testing.assert_allclose(scene.extended.sum(axis=(1, 2)), 3.0)
    # The wing is truncated at 90 arcsec, beyond the stamp: most but not all of its light is inside.
    assert 8.5 < scene.direct[0].sum() <= 10.0


def test_sources_outside_the_stamp_are_ignored():
    scene = Scene(64, 0.263, PSFS)
    scene.add_profile(galsim.Gaussian(sigma=0.3), [1, 1, 1, 1], x=100.0, y=0.0, half_light_radius=0.35)
    assert scene.extended.sum() == 0.0
