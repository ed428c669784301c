"""Faint look-alikes around bright hosts and in groups: subclasses A, C, D and F.

A. a faint compact object in the diffuse light of a bright star or giant elliptical;
C. knots in the arm of a large spiral galaxy;
D. tidal ejecta (streams, plumes, shells) of a high-surface-brightness galaxy;
F. faint groups of galaxies that SourceExtractor merges.
"""

from __future__ import annotations

import galsim
import numpy as np

from deepshadows.simulate.artifacts._shared import (
    HOST_ELLIPTICAL,
    HOST_GALAXY,
    HOST_SPIRAL,
    HOST_STAR,
    Drawer,
    Sampler,
    compact_objects,
    draw_compact,
    draw_host,
    grid,
    host_fluxes,
    polar,
)
from deepshadows.simulate.photometry import band_fluxes, mag_to_flux, mean_sb_to_mag, stellar_colours
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["DRAWERS", "SAMPLERS"]


def _sample_a(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    params: dict[str, float] = {}
    if rng.random() < 0.5:
        distance, x, y = polar(rng, 25.0, 70.0)
        g_r, r_i, i_z = stellar_colours(rng)
        params.update(
            host_kind=HOST_STAR,
            host_mag_g=rng.uniform(12.0, 16.5),
            host_r_eff=0.0,
            host_n=0.0,
            host_q=1.0,
            host_g_r=g_r,
            host_r_i=r_i,
            host_i_z=i_z,
        )
    else:
        distance, x, y = polar(rng, 25.0, 50.0)
        params.update(
            host_kind=HOST_ELLIPTICAL,
            host_mag_g=rng.uniform(14.5, 17.5),
            host_r_eff=rng.uniform(5.0, 30.0),
            host_n=rng.uniform(3.0, 5.0),
            host_q=rng.uniform(0.6, 1.0),
            host_g_r=rng.uniform(0.75, 0.95),
            host_r_i=rng.uniform(0.35, 0.45),
            host_i_z=rng.uniform(0.25, 0.35),
        )
    params.update(host_distance=distance, host_x=x, host_y=y, host_pa=rng.uniform(0, 180))
    params.update(
        compact_objects(rng, int(rng.integers(2, 5)), rng.uniform(1.5, 3.0), (20.5, 22.5), (1.2, 2.5))
    )
    return params


def _sample_c(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    distance, x, y = polar(rng, 25.0, 55.0)
    return {
        "host_kind": HOST_SPIRAL,
        "host_mag_g": rng.uniform(14.5, 17.0),
        "host_r_eff": rng.uniform(8.0, 30.0),
        "host_n": 1.0,
        "host_q": np.cos(np.deg2rad(rng.uniform(0.0, 70.0))),
        "host_pa": rng.uniform(0, 180),
        "host_distance": distance,
        "host_x": x,
        "host_y": y,
        "host_g_r": rng.uniform(0.4, 0.7),
        "host_r_i": rng.uniform(0.15, 0.3),
        "host_i_z": rng.uniform(0.05, 0.2),
        "arm_pitch": rng.uniform(12.0, 30.0),
        "arm_contrast": rng.uniform(1.0, 3.0),
        "arm_width": rng.uniform(1.0, 3.0),
        "knots_n": float(rng.integers(15, 51)),
        "knots_r_eff": rng.uniform(3.0, 6.0),
        "knots_mag_g": rng.uniform(20.0, 22.0),
        "knots_g_r": rng.uniform(-0.1, 0.3),
        "knots_g_i": rng.uniform(-0.2, 0.4),
        "central_n": float(rng.integers(1, 4)),
        "central_mag_g": rng.uniform(21.0, 24.0),
        "central_r_eff": rng.uniform(0.5, 1.2),
        "central_g_r": rng.uniform(-0.1, 0.3),
        "central_spread": 3.0,
    }


def _sample_d(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    distance, x, y = polar(rng, 25.0, 50.0)
    g_r = rng.uniform(0.55, 0.85)
    return {
        "host_kind": HOST_GALAXY,
        "host_mag_g": rng.uniform(14.0, 18.0),
        "host_r_eff": rng.uniform(3.0, 12.0),
        "host_n": rng.uniform(1.0, 4.0),
        "host_q": rng.uniform(0.5, 1.0),
        "host_pa": rng.uniform(0, 180),
        "host_distance": distance,
        "host_x": x,
        "host_y": y,
        "host_g_r": g_r,
        "host_r_i": rng.uniform(0.25, 0.4),
        "host_i_z": rng.uniform(0.15, 0.3),
        "stream_mu_g": rng.uniform(24.5, 26.5),
        "stream_length": rng.uniform(10.0, 40.0),
        "stream_q": rng.uniform(0.35, 0.6),
        "stream_n": rng.uniform(0.5, 1.0),
        "stream_radial": float(rng.random() < 0.5),
        "shell_mu_g": rng.uniform(26.0, 27.5) if rng.random() < 0.4 else np.nan,
    }


def _sample_f(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    return {
        "central_n": float(rng.integers(3, 7)),
        "central_mag_g": rng.uniform(20.5, 22.5),
        "central_r_eff": rng.uniform(1.2, 2.5),
        "central_g_r": rng.uniform(0.3, 1.2),
        "central_spread": rng.uniform(2.0, 5.0),
    }


def _draw_a(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    draw_host(scene, params)
    draw_compact(scene, params, rng)


def _draw_c(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    draw_host(scene, params)
    # Spiral arms: Gaussian ridges along two logarithmic spirals that cross the cutout centre,
    # with the disc's surface brightness times a contrast.
    x, y = grid(scene, params["host_x"], params["host_y"])
    q, pa = params["host_q"], np.deg2rad(params["host_pa"])
    u = x * np.cos(pa) + y * np.sin(pa)
    v = (-x * np.sin(pa) + y * np.cos(pa)) / q
    radius = np.hypot(u, v) + 1e-6
    theta = np.arctan2(v, u)
    tan_pitch = np.tan(np.deg2rad(params["arm_pitch"]))
    centre_u = -params["host_x"] * np.cos(pa) - params["host_y"] * np.sin(pa)
    centre_v = (params["host_x"] * np.sin(pa) - params["host_y"] * np.cos(pa)) / q
    r_centre, theta_centre = np.hypot(centre_u, centre_v), np.arctan2(centre_v, centre_u)
    phase = np.log(radius / r_centre) / tan_pitch - (theta - theta_centre)
    delta = np.angle(np.exp(2j * phase)) / 2.0  # two arms, pi apart
    distance = radius * np.abs(delta) * np.sin(np.deg2rad(params["arm_pitch"]))
    scale = params["host_r_eff"] / 1.678
    fluxes = host_fluxes(params)
    disc_sb = np.exp(-radius / scale) / (2.0 * np.pi * scale**2 * q) * scene.pixel_scale**2
    arms = params["arm_contrast"] * disc_sb * np.exp(-0.5 * (distance / params["arm_width"]) ** 2)
    scene.add_map(arms, fluxes)
    # Star-forming complex at the centre: point-like knots plus a few compact clumps.
    n_knots = int(params["knots_n"])
    sigma = params["knots_r_eff"] / 1.1774
    knots = band_fluxes(
        params["knots_mag_g"], params["knots_g_r"], params["knots_g_i"] - params["knots_g_r"], 0.0
    )
    weights = rng.exponential(1.0, n_knots)
    scene.add_points(
        rng.normal(0, sigma, n_knots),
        rng.normal(0, sigma, n_knots),
        (weights / weights.sum())[:, None] * knots[None, :],
    )
    draw_compact(scene, params, rng)


def _draw_d(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng, survey
    draw_host(scene, params)
    host_angle = np.degrees(np.arctan2(params["host_y"], params["host_x"]))
    beta = host_angle if params["stream_radial"] else host_angle + 90.0
    r_eff, q = params["stream_length"] / 3.0, params["stream_q"]
    profile = galsim.Sersic(params["stream_n"], half_light_radius=r_eff * np.sqrt(q)).shear(
        q=q, beta=beta * galsim.degrees
    )
    colours = (params["host_g_r"], params["host_r_i"], params["host_i_z"])
    mag = mean_sb_to_mag(params["stream_mu_g"], r_eff, q)
    scene.add_profile(profile, band_fluxes(mag, *colours), half_light_radius=r_eff, extent=5.0 * r_eff)
    if np.isfinite(params["shell_mu_g"]):
        x, y = grid(scene, params["host_x"], params["host_y"])
        radius = np.hypot(x, y)
        angle = np.arctan2(y, x)
        towards = np.arctan2(-params["host_y"], -params["host_x"])
        opening = np.abs(np.angle(np.exp(1j * (angle - towards))))
        shell = np.exp(-0.5 * ((radius - params["host_distance"]) / 1.5) ** 2) * (opening < np.deg2rad(50))
        scene.add_map(
            shell, mag_to_flux(params["shell_mu_g"]) * scene.pixel_scale**2 * band_fluxes(22.5, *colours)
        )


def _draw_f(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    draw_compact(scene, params, rng)


SAMPLERS: dict[str, Sampler] = {"A": _sample_a, "C": _sample_c, "D": _sample_d, "F": _sample_f}
DRAWERS: dict[str, Drawer] = {"A": _draw_a, "C": _draw_c, "D": _draw_d, "F": _draw_f}
