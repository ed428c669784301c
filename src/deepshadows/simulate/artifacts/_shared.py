"""Pieces shared by the artifact subclasses: host kinds, geometry, host galaxies and compact groups."""

from __future__ import annotations

from collections.abc import Callable

import galsim
import numpy as np

from deepshadows.simulate.photometry import band_fluxes
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = [
    "HOST_ELLIPTICAL",
    "HOST_GALAXY",
    "HOST_NONE",
    "HOST_SPIRAL",
    "HOST_STAR",
    "Drawer",
    "Sampler",
    "compact_objects",
    "draw_compact",
    "draw_host",
    "grid",
    "host_fluxes",
    "host_profile",
    "polar",
]

#: Draws the truth parameters of one artifact of a subclass.
Sampler = Callable[[np.random.Generator, Survey], dict[str, float]]
#: Renders one artifact of a subclass from its truth parameters into a scene.
Drawer = Callable[[Scene, dict[str, float], np.random.Generator, Survey], None]

#: Kinds of host (the ``host_kind`` truth parameter).
HOST_NONE, HOST_STAR, HOST_ELLIPTICAL, HOST_SPIRAL, HOST_GALAXY = 0.0, 1.0, 2.0, 3.0, 4.0


def polar(rng: np.random.Generator, r_min: float, r_max: float) -> tuple[float, float, float]:
    """Draw a position uniform in distance and angle within an annulus around the centre.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    r_min, r_max : float
        Range of distances in arcsec.

    Returns
    -------
    distance, x, y : float
        Distance from the centre and its x and y offsets, in arcsec.
    """
    distance = rng.uniform(r_min, r_max)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return distance, distance * np.cos(angle), distance * np.sin(angle)


def compact_objects(
    rng: np.random.Generator,
    n: int,
    spread: float,
    mag_range: tuple[float, float],
    r_eff_range: tuple[float, float] = (0.3, 1.2),
) -> dict:
    """Draw the truth parameters of a small group of compact galaxies at the centre.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of members.
    spread : float
        Radius in arcsec within which the members lie.
    mag_range : tuple of float
        Range of the group's total g magnitude.
    r_eff_range : tuple of float, optional
        Range of the members' typical half-light radius in arcsec.

    Returns
    -------
    dict
        The ``central_*`` truth parameters that :func:`draw_compact` takes.
    """
    return {
        "central_n": float(n),
        "central_mag_g": float(rng.uniform(*mag_range)),
        "central_r_eff": float(rng.uniform(*r_eff_range)),
        "central_g_r": float(rng.uniform(0.3, 1.2)),
        "central_spread": float(spread),
    }


def grid(scene: Scene, x0: float = 0.0, y0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Return the sky coordinates of the pixel centres relative to a point; FITS orientation.

    Parameters
    ----------
    scene : Scene
        Scene whose pixel grid is wanted.
    x0, y0 : float, optional
        The point, in arcsec from the stamp centre.

    Returns
    -------
    x, y : ndarray of shape (n_pixels, n_pixels)
        Offsets in arcsec.
    """
    axis = (np.arange(scene.n_pixels) - 0.5 * (scene.n_pixels - 1)) * scene.pixel_scale
    return np.meshgrid(axis - x0, axis - y0, indexing="xy")


def host_profile(params: dict[str, float]) -> galsim.GSObject:
    """Return the unit-flux, sheared profile of a host galaxy.

    Parameters
    ----------
    params : dict of str to float
        Truth parameters with ``host_r_eff``, ``host_q``, ``host_n`` and ``host_pa``.

    Returns
    -------
    galsim.GSObject
        An exponential disc for ``host_n == 1``, a Sersic profile otherwise.
    """
    r_eff, q = params["host_r_eff"], params["host_q"]
    if params["host_n"] == 1.0:
        base = galsim.Exponential(half_light_radius=r_eff * np.sqrt(q))
    else:
        # Not truncated: GalSim's half-light solver can fail for truncated high-n profiles; the light
        # beyond the drawn box (12 R_eff) is simply not drawn.
        base = galsim.Sersic(params["host_n"], half_light_radius=r_eff * np.sqrt(q))
    return base.shear(q=q, beta=params["host_pa"] * galsim.degrees)


def host_fluxes(params: dict[str, float]) -> np.ndarray:
    """Return the host's flux per band in nanomaggies.

    Parameters
    ----------
    params : dict of str to float
        Truth parameters with ``host_mag_g`` and the colours ``host_g_r``, ``host_r_i``, ``host_i_z``.

    Returns
    -------
    ndarray of shape (4,)
        g, r, i, z fluxes.
    """
    return band_fluxes(params["host_mag_g"], params["host_g_r"], params["host_r_i"], params["host_i_z"])


def draw_host(scene: Scene, params: dict[str, float]) -> None:
    """Draw the host (a star or a galaxy) of an artifact into the scene.

    Parameters
    ----------
    scene : Scene
        Scene the light is added to, in place.
    params : dict of str to float
        Truth parameters with the ``host_*`` entries.
    """
    if params["host_kind"] == HOST_STAR:
        scene.add_star(host_fluxes(params), x=params["host_x"], y=params["host_y"])
        return
    scene.add_profile(
        host_profile(params),
        host_fluxes(params),
        x=params["host_x"],
        y=params["host_y"],
        half_light_radius=params["host_r_eff"],
        extent=12.0 * params["host_r_eff"],
    )


def draw_compact(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> None:
    """Draw a small group of compact galaxies near the centre sharing the total central magnitude.

    Parameters
    ----------
    scene : Scene
        Scene the light is added to, in place.
    params : dict of str to float
        The ``central_*`` truth parameters of :func:`compact_objects`.
    rng : numpy.random.Generator
        Source of the members' weights, positions and shapes.
    """
    n = int(params["central_n"])
    weights = rng.dirichlet(np.ones(n) * 2.0)
    total = band_fluxes(params["central_mag_g"], params["central_g_r"], 0.25 * params["central_g_r"], 0.1)
    for k in range(n):
        radius = 0.0 if k == 0 else params["central_spread"] * np.sqrt(rng.random())
        angle = rng.uniform(0, 2 * np.pi)
        r_eff = params["central_r_eff"] * rng.uniform(0.7, 1.3)
        profile = galsim.Exponential(half_light_radius=r_eff).shear(
            q=rng.uniform(0.5, 1.0), beta=rng.uniform(0, np.pi) * galsim.radians
        )
        scene.add_profile(
            profile,
            weights[k] * total,
            x=radius * np.cos(angle),
            y=radius * np.sin(angle),
            half_light_radius=r_eff,
        )
