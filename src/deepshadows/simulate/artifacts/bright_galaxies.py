"""Whole ordinary galaxies in the cutout: subclass G.

G. a galaxy just above the catalogue's surface-brightness cut (R_eff 2.5-8", mean g surface
   brightness 23.6-25.0 mag/arcsec^2, so m_g about 16.5-21.5), within 2.5" of the centre (60 %)
   or 2.5-12" from it: an elliptical, a lenticular, a spiral (face-on to inclined) with bluish
   arms, knots and a yellow bulge, or an edge-on disc; sometimes with one or two companions.

Real candidate lists hold such galaxies through their outer parts or deblending shreds; in the
viewer they show at about the brightness of the LSBGs (real random artifacts have a weaker central
excess than real LSBGs, science specification section 7b), not as saturated bright galaxies. They
are not re-drawn until they pass the catalogue preselection (see
:data:`deepshadows.classes.PRESELECTION_EXEMPT`).

Sersic indices are drawn from a few fixed values: GalSim caches the radial profile of each index,
and a new index costs a new table (tens of ms).
"""

from __future__ import annotations

import galsim
import numpy as np

from deepshadows.simulate.artifacts._shared import Drawer, Sampler, grid, polar
from deepshadows.simulate.photometry import band_fluxes
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["DRAWERS", "SAMPLERS"]

#: Morphologies of the ``galaxy_morph`` truth parameter and how often each is drawn.
ELLIPTICAL, LENTICULAR, SPIRAL, EDGE_ON = 0.0, 1.0, 2.0, 3.0
_MORPH_P = (0.25, 0.15, 0.40, 0.20)
_BULGE_N = (2.0, 3.0, 4.0)
_GS = galsim.GSParams(folding_threshold=1e-2, maximum_fft_size=4096)


def _size_for_mag(rng: np.random.Generator, mag: float) -> float:
    """Half-light radius (arcsec) loosely tied to the magnitude: brighter galaxies are larger."""
    return float(np.clip(10.0 * 10 ** (-0.16 * (mag - 13.5)) * rng.uniform(0.6, 1.3), 1.5, 15.0))


def _sample_g(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    morph = float(rng.choice(4, p=_MORPH_P))
    _, x, y = polar(rng, 0.0, 2.5) if rng.random() < 0.6 else polar(rng, 2.5, 12.0)
    if morph == ELLIPTICAL:
        q, bulge_fraction, disc_g_r = rng.uniform(0.6, 1.0), 1.0, rng.uniform(0.7, 0.9)
    elif morph == LENTICULAR:
        q, bulge_fraction, disc_g_r = rng.uniform(0.3, 0.8), rng.uniform(0.4, 0.7), rng.uniform(0.6, 0.8)
    elif morph == SPIRAL:
        q, bulge_fraction, disc_g_r = rng.uniform(0.35, 1.0), rng.uniform(0.1, 0.35), rng.uniform(0.3, 0.55)
    else:
        q, bulge_fraction, disc_g_r = rng.uniform(0.08, 0.2), rng.uniform(0.0, 0.3), rng.uniform(0.5, 0.8)
    # Ordinary galaxies just above the catalogue's surface-brightness cut: the size and the mean
    # surface brightness are drawn, the magnitude follows (m = mu - 2.5 log10(2 pi R^2 q)).
    r_eff = float(np.exp(rng.uniform(np.log(2.5), np.log(8.0))))
    mu_eff = rng.uniform(23.6, 25.0)
    mag = float(mu_eff - 2.5 * np.log10(2.0 * np.pi * r_eff**2 * max(q, 0.3)))
    n_companions = float(rng.choice(3, p=(0.6, 0.3, 0.1)))
    companion_distance, companion_x, companion_y = polar(rng, 8.0, 22.0)
    return {
        "galaxy_morph": morph,
        "galaxy_mag_g": mag,
        "galaxy_mu_eff_g": mu_eff,
        "galaxy_r_eff": r_eff,
        "galaxy_q": q,
        "galaxy_pa": rng.uniform(0.0, 180.0),
        "galaxy_x": x,
        "galaxy_y": y,
        "galaxy_bulge_fraction": bulge_fraction,
        "galaxy_bulge_n": float(rng.choice(_BULGE_N)) if morph != ELLIPTICAL else 4.0,
        "galaxy_bulge_size": 1.0 if morph == ELLIPTICAL else rng.uniform(0.12, 0.3),
        "galaxy_bulge_g_r": rng.uniform(0.72, 0.92),
        "galaxy_disc_g_r": disc_g_r,
        "galaxy_r_i": rng.uniform(0.25, 0.45),
        "galaxy_i_z": rng.uniform(0.15, 0.3),
        "arm_pitch": rng.uniform(12.0, 30.0),
        "arm_contrast": rng.uniform(0.5, 1.5) if morph == SPIRAL else 0.0,
        "arm_width": rng.uniform(0.06, 0.12),
        "knots_n": float(rng.integers(20, 80)) if morph == SPIRAL else 0.0,
        "knots_fraction": rng.uniform(0.03, 0.10),
        "companion_n": n_companions,
        "companion_mag_g": mag + rng.uniform(0.0, 2.5),
        "companion_distance": companion_distance,
        "companion_x": companion_x,
        "companion_y": companion_y,
    }


def _colours(g_r: float, params: dict[str, float]) -> np.ndarray:
    """Return the unit-g-flux colour vector with the galaxy's r-i and i-z, scaled with g-r."""
    scale = g_r / 0.8
    return band_fluxes(22.5, g_r, scale * params["galaxy_r_i"], scale * params["galaxy_i_z"])


def _arms(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Two logarithmic spiral arms on the exponential disc, as a map of unit total flux."""
    x, y = grid(scene, params["galaxy_x"], params["galaxy_y"])
    q, pa = params["galaxy_q"], np.deg2rad(params["galaxy_pa"])
    u = x * np.cos(pa) + y * np.sin(pa)
    v = (-x * np.sin(pa) + y * np.cos(pa)) / q
    radius = np.hypot(u, v) + 1e-6
    scale = params["galaxy_r_eff"] / 1.678
    phase = np.log(radius / scale) / np.tan(np.deg2rad(params["arm_pitch"])) - np.arctan2(v, u)
    phase += rng.uniform(0.0, np.pi)
    delta = np.angle(np.exp(2j * phase)) / 2.0  # two arms, pi apart
    across = radius * np.abs(delta) * np.sin(np.deg2rad(params["arm_pitch"]))
    width = params["arm_width"] * params["galaxy_r_eff"]
    inner = 1.0 - np.exp(-((radius / (0.5 * scale)) ** 2))  # no arms inside the bulge
    arms = np.exp(-radius / scale) * np.exp(-0.5 * (across / width) ** 2) * inner
    return arms / max(float(arms.sum()), 1e-12)


def _knots(scene: Scene, params: dict[str, float], rng: np.random.Generator, flux_g: float) -> None:
    """Blue star-forming knots scattered over the disc, like its light."""
    n = int(params["knots_n"])
    scale = params["galaxy_r_eff"] / 1.678
    radius = rng.gamma(2.0, scale, n)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    q, pa = params["galaxy_q"], np.deg2rad(params["galaxy_pa"])
    u, v = radius * np.cos(angle), q * radius * np.sin(angle)
    kx = params["galaxy_x"] + u * np.cos(pa) - v * np.sin(pa)
    ky = params["galaxy_y"] + u * np.sin(pa) + v * np.cos(pa)
    weights = rng.exponential(1.0, n)
    colours = band_fluxes(22.5, rng.uniform(-0.1, 0.2), 0.0, 0.0)
    fluxes = params["knots_fraction"] * flux_g * (weights / weights.sum())[:, None] * colours[None, :]
    scene.add_points(kx, ky, fluxes)


def _companion(scene: Scene, params: dict[str, float], rng: np.random.Generator, k: int) -> None:
    """Draw a bright companion galaxy: the first at the drawn position, further ones at random."""
    if k == 0:
        x, y, mag = params["companion_x"], params["companion_y"], params["companion_mag_g"]
    else:
        _, x, y = polar(rng, 8.0, 22.0)
        mag = params["companion_mag_g"] + rng.uniform(0.0, 1.5)
    r_eff = _size_for_mag(rng, mag)
    q = rng.uniform(0.25, 1.0)
    if rng.random() < 0.5:
        base, g_r = galsim.Sersic(4.0, half_light_radius=r_eff * np.sqrt(q)), rng.uniform(0.7, 0.9)
    else:
        base, g_r = galsim.Exponential(half_light_radius=r_eff * np.sqrt(q)), rng.uniform(0.35, 0.7)
    profile = base.shear(q=q, beta=rng.uniform(0.0, np.pi) * galsim.radians)
    fluxes = band_fluxes(mag, g_r, rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.3))
    scene.add_profile(profile, fluxes, x=x, y=y, half_light_radius=r_eff, extent=8.0 * r_eff)


def _draw_g(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    morph, r_eff, q = params["galaxy_morph"], params["galaxy_r_eff"], params["galaxy_q"]
    beta = params["galaxy_pa"] * galsim.degrees
    x, y = params["galaxy_x"], params["galaxy_y"]
    flux_g = float(band_fluxes(params["galaxy_mag_g"], 0.0, 0.0, 0.0)[0])
    bulge_fraction = params["galaxy_bulge_fraction"]
    if bulge_fraction > 0:
        bulge_r = max(params["galaxy_bulge_size"] * r_eff, 0.4)
        bulge_q = q if morph == ELLIPTICAL else max(q, 0.6)
        bulge = galsim.Sersic(params["galaxy_bulge_n"], half_light_radius=bulge_r * np.sqrt(bulge_q))
        fluxes = bulge_fraction * flux_g * _colours(params["galaxy_bulge_g_r"], params)
        scene.add_profile(
            bulge.shear(q=bulge_q, beta=beta),
            fluxes,
            x=x,
            y=y,
            half_light_radius=bulge_r,
            extent=10.0 * bulge_r,
        )
    disc_fraction = 1.0 - bulge_fraction
    if disc_fraction <= 0:
        return
    disc_fluxes = disc_fraction * flux_g * _colours(params["galaxy_disc_g_r"], params)
    if morph == EDGE_ON:
        scale = r_eff / 1.678
        disc = galsim.InclinedExponential(
            np.arccos(q) * galsim.radians,
            half_light_radius=r_eff,
            scale_height=max(0.6 * q * scale, 0.2),
            gsparams=_GS,
        ).rotate(beta)
    else:
        disc = galsim.Exponential(half_light_radius=r_eff * np.sqrt(q), gsparams=_GS).shear(q=q, beta=beta)
    scene.add_profile(disc, disc_fluxes, x=x, y=y, half_light_radius=r_eff, extent=5.0 * r_eff)
    if params["arm_contrast"] > 0:
        arm_fluxes = params["arm_contrast"] * 0.2 * disc_fraction * flux_g * _colours(0.2, params)
        scene.add_map(_arms(scene, params, rng), arm_fluxes)
    if params["knots_n"] > 0:
        _knots(scene, params, rng, flux_g)
    for k in range(int(params["companion_n"])):
        _companion(scene, params, rng, k)


SAMPLERS: dict[str, Sampler] = {"G": _sample_g}
DRAWERS: dict[str, Drawer] = {"G": _draw_g}
