"""Crowded fields and cutouts inside a large galaxy: subclass I.

I. one of three scenes that fill the cutout with light:

   0. a globular-cluster system: an elliptical at the centre with tens to a hundred and fifty
      compact sources around it (Plummer distribution);
   1. a galaxy group: a bright member at the centre and six to fourteen smaller galaxies;
   2. the inside of the outer disc of a very large galaxy whose centre lies outside the cutout:
      the whole field raised to a mottled, orange-grey level with blue and red knots, and a
      compact clump at the centre (the catalogue's shred).
"""

from __future__ import annotations

import galsim
import numpy as np
from scipy import ndimage

from deepshadows.simulate.artifacts._shared import Drawer, Sampler, grid, polar
from deepshadows.simulate.photometry import band_fluxes, mag_to_flux
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["DRAWERS", "SAMPLERS"]

#: Scenes of the ``crowd_mode`` truth parameter and how often each is drawn.
CLUSTERS, GROUP, INSIDE_GALAXY = 0.0, 1.0, 2.0
_MODE_P = (0.35, 0.3, 0.35)


def _sample_i(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    mode = float(rng.choice(3, p=_MODE_P))
    big_r_eff = rng.uniform(40.0, 150.0)
    big_distance, big_x, big_y = polar(rng, 0.6 * big_r_eff, 1.5 * big_r_eff)
    centre_mag = {CLUSTERS: (18.0, 20.5), GROUP: (19.0, 21.5), INSIDE_GALAXY: (20.0, 22.0)}[mode]
    return {
        "crowd_mode": mode,
        "crowd_n": float(rng.integers(40, 150) if mode == CLUSTERS else rng.integers(6, 15)),
        "crowd_radius": rng.uniform(6.0, 15.0),
        "crowd_mag_g": rng.uniform(18.0, 20.5) if mode == CLUSTERS else rng.uniform(19.0, 21.5),
        "crowd_g_r": rng.uniform(0.4, 0.8),
        "centre_mag_g": rng.uniform(*centre_mag),
        "centre_r_eff": rng.uniform(2.0, 6.0) if mode != INSIDE_GALAXY else rng.uniform(0.5, 1.5),
        "centre_g_r": rng.uniform(0.7, 0.9) if mode != INSIDE_GALAXY else rng.uniform(0.0, 0.5),
        "big_mu_g": rng.uniform(23.5, 25.0),
        "big_r_eff": big_r_eff,
        "big_distance": big_distance,
        "big_x": big_x,
        "big_y": big_y,
        "big_g_r": rng.uniform(0.6, 0.9),
        "mottle_sigma": rng.uniform(0.2, 0.45),
        "mottle_scale": rng.uniform(0.8, 2.5),
        "field_seed": float(rng.integers(2**31)),
    }


def _centre(scene: Scene, params: dict[str, float]) -> None:
    """Draw the object at the centre: an elliptical, the group's brightest member or a compact clump."""
    r_eff = params["centre_r_eff"]
    n = 4.0 if params["crowd_mode"] == CLUSTERS else 1.0
    fluxes = band_fluxes(params["centre_mag_g"], params["centre_g_r"], 0.4 * params["centre_g_r"], 0.25)
    profile = galsim.Sersic(n, half_light_radius=r_eff).shear(q=0.8, beta=0.0 * galsim.degrees)
    scene.add_profile(profile, fluxes, half_light_radius=r_eff, extent=10.0 * r_eff)


def _clusters(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> None:
    """Compact sources with a Plummer distribution around the centre and a steep luminosity function."""
    n = int(params["crowd_n"])
    radius = params["crowd_radius"] / np.sqrt(rng.uniform(0.05, 1.0, n) ** (-2.0 / 3.0) - 1.0 + 1e-3)
    radius = np.minimum(radius, 30.0)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    weights = rng.pareto(1.5, n) + 1.0
    g_r = params["crowd_g_r"] + rng.normal(0.0, 0.15, n)
    fluxes = np.stack([band_fluxes(22.5, c, 0.35 * c, 0.15) for c in g_r])
    total = mag_to_flux(params["crowd_mag_g"])
    scene.add_points(
        radius * np.cos(angle), radius * np.sin(angle), total * (weights / weights.sum())[:, None] * fluxes
    )


def _group(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> None:
    """Small galaxies of a group scattered over the field."""
    n = int(params["crowd_n"])
    weights = rng.dirichlet(np.ones(n))
    for k in range(n):
        _, x, y = polar(rng, 3.0, params["crowd_radius"] + 5.0)
        r_eff = rng.uniform(0.6, 2.5)
        g_r = params["crowd_g_r"] + rng.normal(0.0, 0.2)
        profile = galsim.Exponential(half_light_radius=r_eff).shear(
            q=rng.uniform(0.4, 1.0), beta=rng.uniform(0.0, np.pi) * galsim.radians
        )
        fluxes = weights[k] * band_fluxes(params["crowd_mag_g"], g_r, 0.35 * g_r, 0.15)
        scene.add_profile(profile, fluxes, x=x, y=y, half_light_radius=r_eff)


def _inside_galaxy(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> None:
    """Draw the outer disc of a galaxy centred off the cutout: an exponential with log-normal mottling."""
    x, y = grid(scene, params["big_x"], params["big_y"])
    scale = params["big_r_eff"] / 1.678
    level = np.exp(-(np.hypot(x, y) - params["big_distance"]) / scale)
    noise = np.random.default_rng(int(params["field_seed"])).standard_normal(level.shape)
    noise = ndimage.gaussian_filter(noise, params["mottle_scale"] / scene.pixel_scale)
    noise /= max(float(noise.std()), 1e-12)
    sigma = params["mottle_sigma"]
    sb_map = level * np.exp(sigma * noise - 0.5 * sigma**2)
    per_pixel = mag_to_flux(params["big_mu_g"]) * scene.pixel_scale**2
    colours = band_fluxes(22.5, params["big_g_r"], 0.4 * params["big_g_r"], 0.2)
    scene.add_map(sb_map, per_pixel * colours)
    # Knots of the disc: young (blue) and old (red) clumps, bright enough to show as specks.
    n = int(rng.integers(20, 60))
    half = scene.half_width
    blue = rng.random(n) < 0.5
    colours = np.stack([band_fluxes(22.5, -0.1 if b else 1.0, 0.0 if b else 0.4, 0.2) for b in blue])
    mags = rng.uniform(21.0, 24.0, n)
    scene.add_points(
        rng.uniform(-half, half, n), rng.uniform(-half, half, n), mag_to_flux(mags)[:, None] * colours
    )


def _draw_i(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    _centre(scene, params)
    mode = params["crowd_mode"]
    if mode == CLUSTERS:
        _clusters(scene, params, rng)
    elif mode == GROUP:
        _group(scene, params, rng)
    else:
        _inside_galaxy(scene, params, rng)


SAMPLERS: dict[str, Sampler] = {"I": _sample_i}
DRAWERS: dict[str, Drawer] = {"I": _draw_i}
