"""Bright stars of the type-1 class: subclass E.

E. a bright star with diffraction spikes, extended wings and, in DES, a bleed trail; in HSC a
   ghost halo.
"""

from __future__ import annotations

import numpy as np

from deepshadows.simulate.artifacts._shared import HOST_STAR, Drawer, Sampler, grid, host_fluxes, polar
from deepshadows.simulate.photometry import mag_to_flux, stellar_colours
from deepshadows.simulate.render import Scene
from deepshadows.surveys import BANDS, Survey

__all__ = ["DRAWERS", "SAMPLERS"]


def star_parameters(rng: np.random.Generator, position: tuple[float, float, float]) -> dict[str, float]:
    """Draw the colours of a bright star at ``position``, (distance, x, y) in arcsec."""
    distance, x, y = position
    g_r, r_i, i_z = stellar_colours(rng)
    return {
        "host_kind": HOST_STAR,
        "host_distance": distance,
        "host_x": x,
        "host_y": y,
        "host_g_r": g_r,
        "host_r_i": r_i,
        "host_i_z": i_z,
    }


def spike_parameters(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    """Draw the number, light fraction, angle and profile of a star's diffraction spikes."""
    n_spikes = 4 if survey.name == "des" else int(rng.choice([4, 6, 8]))
    return {
        "spike_n": float(n_spikes),
        "spike_fraction": rng.uniform(0.005, 0.03),
        "spike_angle": rng.uniform(-3.0, 3.0) if survey.name == "des" else rng.uniform(0.0, 90.0),
        "spike_beta": rng.uniform(1.2, 1.5),
    }


def _sample_e(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    star = star_parameters(rng, polar(rng, 0.0, 15.0))
    mag = rng.uniform(9.0, 16.0)
    return {
        **star,
        "host_mag_g": mag,
        **spike_parameters(rng, survey),
        "bleed_length": rng.uniform(5.0, 40.0) if (survey.name == "des" and mag < 13.0) else 0.0,
        "bleed_width": float(rng.integers(1, 4)),
        "ghost_radius": rng.uniform(20.0, 60.0) if (survey.name == "hsc" and mag < 11.0) else 0.0,
        "ghost_mu_g": rng.uniform(25.0, 26.5),
    }


def _spikes(scene: Scene, params: dict[str, float], fluxes: np.ndarray) -> np.ndarray:
    """Diffraction spikes of a star: truncated Moffat-like ridges with the PSF core's width."""
    x, y = grid(scene, params["host_x"], params["host_y"])
    out = np.zeros((scene.n_bands, scene.n_pixels, scene.n_pixels))
    n_spikes = int(params["spike_n"])
    flux_g = fluxes[0]
    # Half-length grows as flux^0.39: about 10" at g = 14 and 60" at g = 9.
    half_length = float(np.clip(10.0 * (flux_g / mag_to_flux(14.0)) ** 0.39, 5.0, 60.0))
    s_axis = np.linspace(0.0, half_length, 2048)
    for band, psf in enumerate(scene.psfs):
        width = 0.8 * psf.fwhm / 2.3548
        core = psf.fwhm
        norm = np.trapezoid((1 + (s_axis / core) ** 2) ** (-params["spike_beta"]), s_axis)
        per_spike = params["spike_fraction"] * fluxes[band] / n_spikes
        for k in range(n_spikes):
            angle = np.deg2rad(params["spike_angle"] + k * 360.0 / n_spikes)
            s = x * np.cos(angle) + y * np.sin(angle)
            t = -x * np.sin(angle) + y * np.cos(angle)
            ridge = (1 + (s / core) ** 2) ** (-params["spike_beta"]) * (s >= 0) * (s <= half_length)
            across = np.exp(-0.5 * (t / width) ** 2) / (width * np.sqrt(2 * np.pi))
            out[band] += per_spike * ridge * across / norm * scene.pixel_scale**2
    return out


def _bleed(scene: Scene, params: dict[str, float], survey: Survey) -> np.ndarray:
    out = np.zeros((scene.n_bands, scene.n_pixels, scene.n_pixels))
    if params["bleed_length"] <= 0:
        return out
    x, y = grid(scene, params["host_x"], params["host_y"])
    inside = (np.abs(x) <= 0.5 * params["bleed_width"] * scene.pixel_scale) & (
        np.abs(y) <= 0.5 * params["bleed_length"]
    )
    for band, name in enumerate(BANDS):
        out[band][inside] = 3.0 / survey.rgb_scale[name]  # saturated: white after the stretch
    return out


def _ghost(scene: Scene, params: dict[str, float], fluxes: np.ndarray) -> np.ndarray:
    out = np.zeros((scene.n_bands, scene.n_pixels, scene.n_pixels))
    if params["ghost_radius"] <= 0:
        return out
    x, y = grid(scene, params["host_x"], params["host_y"])
    radius = np.hypot(x, y)
    ring = np.exp(-0.5 * ((radius - params["ghost_radius"]) / (0.15 * params["ghost_radius"])) ** 2)
    sb = mag_to_flux(params["ghost_mu_g"]) * scene.pixel_scale**2
    return (fluxes / fluxes[0])[:, None, None] * sb * ring[None, :, :]


def _draw_e(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng
    fluxes = host_fluxes(params)
    extras = [_spikes(scene, params, fluxes), _bleed(scene, params, survey), _ghost(scene, params, fluxes)]
    scene.add_star(fluxes, x=params["host_x"], y=params["host_y"], extras=extras)


SAMPLERS: dict[str, Sampler] = {"E": _sample_e}
DRAWERS: dict[str, Drawer] = {"E": _draw_e}
