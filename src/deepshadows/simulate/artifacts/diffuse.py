"""Galactic cirrus: subclass B."""

from __future__ import annotations

import numpy as np

from deepshadows.simulate.artifacts._shared import Drawer, Sampler
from deepshadows.simulate.photometry import band_fluxes, mag_to_flux
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["DRAWERS", "SAMPLERS"]


def _sample_b(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    return {
        "cirrus_mu_g": rng.uniform(25.5, 27.5),
        "cirrus_sigma": rng.uniform(0.6, 1.0),
        "cirrus_gamma": rng.uniform(2.5, 3.2),
        "cirrus_axis_ratio": rng.uniform(0.2, 0.6) if rng.random() < 0.5 else 1.0,
        "cirrus_angle": rng.uniform(0.0, 180.0),
        "cirrus_g_r": rng.uniform(0.4, 0.8),
        "cirrus_r_i": rng.uniform(0.1, 0.3),
        "cirrus_i_z": rng.uniform(0.0, 0.2),
        "field_seed": float(rng.integers(2**31)),
    }


def _cirrus_map(scene: Scene, params: dict[str, float]) -> np.ndarray:
    """Log-normal map of a Gaussian random field with a k^-gamma power spectrum, peaked at the centre."""
    rng = np.random.default_rng(int(params["field_seed"]))
    n = 2 * scene.n_pixels
    kx = np.fft.fftfreq(n, d=scene.pixel_scale)
    ky = np.fft.rfftfreq(n, d=scene.pixel_scale)
    ratio = params["cirrus_axis_ratio"]
    angle = np.deg2rad(params["cirrus_angle"])
    kxx, kyy = np.meshgrid(kx, ky, indexing="ij")
    ku = kxx * np.cos(angle) + kyy * np.sin(angle)
    kv = -kxx * np.sin(angle) + kyy * np.cos(angle)
    k = np.hypot(ku * ratio, kv)  # stretched along u: filaments
    k_min = 1.0 / 60.0  # scales beyond 1 arcmin are removed by the sky subtraction
    power = np.where(k > 0, np.maximum(k, k_min) ** (-params["cirrus_gamma"]), 0.0)
    noise = rng.standard_normal((n, n // 2 + 1)) + 1j * rng.standard_normal((n, n // 2 + 1))
    field = np.fft.irfft2(noise * np.sqrt(power), s=(n, n))
    field = (field - field.mean()) / field.std()
    # Move the strongest maximum of the central region to the stamp centre.
    half = scene.n_pixels // 2
    row, col = np.unravel_index(
        np.argmax(field[half : half + scene.n_pixels, half : half + scene.n_pixels]),
        (scene.n_pixels, scene.n_pixels),
    )
    field = np.roll(field, (half - row, half - col), axis=(0, 1))[
        half : half + scene.n_pixels, half : half + scene.n_pixels
    ]
    sigma = params["cirrus_sigma"]
    return np.exp(sigma * field - 0.5 * sigma**2)


def _draw_b(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng, survey
    mean_sb_g = mag_to_flux(params["cirrus_mu_g"]) * scene.pixel_scale**2  # nmgy per pixel
    colours = band_fluxes(22.5, params["cirrus_g_r"], params["cirrus_r_i"], params["cirrus_i_z"])
    scene.add_map(_cirrus_map(scene, params), mean_sb_g * colours)


SAMPLERS: dict[str, Sampler] = {"B": _sample_b}
DRAWERS: dict[str, Drawer] = {"B": _draw_b}
