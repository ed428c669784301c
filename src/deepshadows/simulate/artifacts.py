"""Artifacts of LSBG searches (science specification, section 5): priors and rendering.

Type 2 (the paper's main negative class, look-alikes rejected only by eye):

A. a faint compact object in the diffuse light of a bright star or giant elliptical;
B. Galactic cirrus;
C. knots in the arm of a large spiral galaxy;
D. tidal ejecta (streams, plumes, shells) of a high-surface-brightness galaxy;
F. faint groups of galaxies that SourceExtractor merges.

Type 1 (the extra class of the paper's appendix A):

E. a bright star with diffraction spikes, extended wings and, in DES, a bleed trail; in HSC a
   ghost halo.

Each ``sample_*`` function returns a flat dict of truth parameters; ``draw_artifact`` renders them.
"""

from __future__ import annotations

from collections.abc import Callable

import galsim
import numpy as np

from deepshadows.classes import SUBCLASS_NAMES
from deepshadows.simulate.photometry import band_fluxes, mag_to_flux, mean_sb_to_mag, stellar_colours
from deepshadows.simulate.render import Scene
from deepshadows.surveys import BANDS, Survey

__all__ = ["SUBCLASS_NAMES", "TYPE2_MIX", "draw_artifact", "sample_artifact"]

#: Default mix of type-2 subclasses. The science specification suggests A 40, B 10, C 15, D 10, F 15
#: (with E moved to type 1); fewer halo artifacts and more faint blends bring the background level
#: of the artifact cutouts closer to that of real ones (section 7b), so the default is this.
TYPE2_MIX: dict[str, float] = {"A": 0.35, "B": 0.10, "C": 0.15, "D": 0.10, "F": 0.30}

_HOST_NONE, _HOST_STAR, _HOST_ELLIPTICAL, _HOST_SPIRAL, _HOST_GALAXY = 0.0, 1.0, 2.0, 3.0, 4.0


def _polar(rng: np.random.Generator, r_min: float, r_max: float) -> tuple[float, float, float]:
    distance = rng.uniform(r_min, r_max)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return distance, distance * np.cos(angle), distance * np.sin(angle)


def _compact_objects(
    rng: np.random.Generator,
    n: int,
    spread: float,
    mag_range: tuple[float, float],
    r_eff_range: tuple[float, float] = (0.3, 1.2),
) -> dict:
    return {
        "central_n": float(n),
        "central_mag_g": float(rng.uniform(*mag_range)),
        "central_r_eff": float(rng.uniform(*r_eff_range)),
        "central_g_r": float(rng.uniform(0.3, 1.2)),
        "central_spread": float(spread),
    }


def _sample_a(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    params: dict[str, float] = {}
    if rng.random() < 0.5:
        distance, x, y = _polar(rng, 25.0, 70.0)
        g_r, r_i, i_z = stellar_colours(rng)
        params.update(
            host_kind=_HOST_STAR,
            host_mag_g=rng.uniform(12.0, 16.5),
            host_r_eff=0.0,
            host_n=0.0,
            host_q=1.0,
            host_g_r=g_r,
            host_r_i=r_i,
            host_i_z=i_z,
        )
    else:
        distance, x, y = _polar(rng, 25.0, 50.0)
        params.update(
            host_kind=_HOST_ELLIPTICAL,
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
        _compact_objects(rng, int(rng.integers(2, 5)), rng.uniform(1.5, 3.0), (20.5, 22.5), (1.2, 2.5))
    )
    return params


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


def _sample_c(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    del survey
    distance, x, y = _polar(rng, 25.0, 55.0)
    return {
        "host_kind": _HOST_SPIRAL,
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
    distance, x, y = _polar(rng, 25.0, 50.0)
    g_r = rng.uniform(0.55, 0.85)
    return {
        "host_kind": _HOST_GALAXY,
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


def _sample_e(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    distance, x, y = _polar(rng, 0.0, 15.0)
    g_r, r_i, i_z = stellar_colours(rng)
    mag = rng.uniform(9.0, 16.0)
    n_spikes = 4 if survey.name == "des" else int(rng.choice([4, 6, 8]))
    return {
        "host_kind": _HOST_STAR,
        "host_mag_g": mag,
        "host_distance": distance,
        "host_x": x,
        "host_y": y,
        "host_g_r": g_r,
        "host_r_i": r_i,
        "host_i_z": i_z,
        "spike_n": float(n_spikes),
        "spike_fraction": rng.uniform(0.005, 0.03),
        "spike_angle": rng.uniform(-3.0, 3.0) if survey.name == "des" else rng.uniform(0.0, 90.0),
        "spike_beta": rng.uniform(1.2, 1.5),
        "bleed_length": rng.uniform(5.0, 40.0) if (survey.name == "des" and mag < 13.0) else 0.0,
        "bleed_width": float(rng.integers(1, 4)),
        "ghost_radius": rng.uniform(20.0, 60.0) if (survey.name == "hsc" and mag < 11.0) else 0.0,
        "ghost_mu_g": rng.uniform(25.0, 26.5),
    }


_SAMPLERS: dict[str, Callable[[np.random.Generator, Survey], dict[str, float]]] = {
    "A": _sample_a,
    "B": _sample_b,
    "C": _sample_c,
    "D": _sample_d,
    "E": _sample_e,
    "F": _sample_f,
}


def sample_artifact(rng: np.random.Generator, subclass: str, survey: Survey) -> dict[str, float]:
    """Draw the truth parameters of one artifact of the given subclass (``"A"`` to ``"F"``).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subclass : {"A", "B", "C", "D", "E", "F"}
        Artifact subclass (see the module description).
    survey : Survey
        Survey whose optics shape the artifact; only bright stars (``"E"``) depend on it:
        diffraction spikes and bleed trails in DES, ghost halos in HSC.

    Returns
    -------
    dict of str to float
        Flat truth parameters (positions and sizes in arcsec, magnitudes in AB mag, angles in
        degrees), as :func:`draw_artifact` takes them.
    """
    return {key: float(value) for key, value in _SAMPLERS[subclass](rng, survey).items()}


# --- rendering --------------------------------------------------------------------------------


def _grid(scene: Scene, x0: float = 0.0, y0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Sky coordinates (arcsec) of the pixel centres relative to (x0, y0); FITS orientation."""
    axis = (np.arange(scene.n_pixels) - 0.5 * (scene.n_pixels - 1)) * scene.pixel_scale
    return np.meshgrid(axis - x0, axis - y0, indexing="xy")


def _host_profile(params: dict[str, float]) -> galsim.GSObject:
    r_eff, q = params["host_r_eff"], params["host_q"]
    if params["host_n"] == 1.0:
        base = galsim.Exponential(half_light_radius=r_eff * np.sqrt(q))
    else:
        # Not truncated: GalSim's half-light solver can fail for truncated high-n profiles; the light
        # beyond the drawn box (12 R_eff) is simply not drawn.
        base = galsim.Sersic(params["host_n"], half_light_radius=r_eff * np.sqrt(q))
    return base.shear(q=q, beta=params["host_pa"] * galsim.degrees)


def _host_fluxes(params: dict[str, float]) -> np.ndarray:
    return band_fluxes(params["host_mag_g"], params["host_g_r"], params["host_r_i"], params["host_i_z"])


def _draw_host(scene: Scene, params: dict[str, float]) -> None:
    if params["host_kind"] == _HOST_STAR:
        scene.add_star(_host_fluxes(params), x=params["host_x"], y=params["host_y"])
        return
    scene.add_profile(
        _host_profile(params),
        _host_fluxes(params),
        x=params["host_x"],
        y=params["host_y"],
        half_light_radius=params["host_r_eff"],
        extent=12.0 * params["host_r_eff"],
    )


def _draw_compact(scene: Scene, params: dict[str, float], rng: np.random.Generator) -> None:
    """Draw a small group of compact galaxies near the centre sharing the total central magnitude."""
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


def _draw_a(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    _draw_host(scene, params)
    _draw_compact(scene, params, rng)


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


def _draw_c(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del survey
    _draw_host(scene, params)
    # Spiral arms: Gaussian ridges along two logarithmic spirals that cross the cutout centre,
    # with the disc's surface brightness times a contrast.
    x, y = _grid(scene, params["host_x"], params["host_y"])
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
    fluxes = _host_fluxes(params)
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
    _draw_compact(scene, params, rng)


def _draw_d(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng, survey
    _draw_host(scene, params)
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
        x, y = _grid(scene, params["host_x"], params["host_y"])
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
    _draw_compact(scene, params, rng)


def _spikes(scene: Scene, params: dict[str, float], fluxes: np.ndarray) -> np.ndarray:
    """Diffraction spikes of a star: truncated Moffat-like ridges with the PSF core's width."""
    x, y = _grid(scene, params["host_x"], params["host_y"])
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
    x, y = _grid(scene, params["host_x"], params["host_y"])
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
    x, y = _grid(scene, params["host_x"], params["host_y"])
    radius = np.hypot(x, y)
    ring = np.exp(-0.5 * ((radius - params["ghost_radius"]) / (0.15 * params["ghost_radius"])) ** 2)
    sb = mag_to_flux(params["ghost_mu_g"]) * scene.pixel_scale**2
    return (fluxes / fluxes[0])[:, None, None] * sb * ring[None, :, :]


def _draw_e(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng
    fluxes = _host_fluxes(params)
    extras = [_spikes(scene, params, fluxes), _bleed(scene, params, survey), _ghost(scene, params, fluxes)]
    scene.add_star(fluxes, x=params["host_x"], y=params["host_y"], extras=extras)


_DRAWERS = {"A": _draw_a, "B": _draw_b, "C": _draw_c, "D": _draw_d, "E": _draw_e, "F": _draw_f}


def draw_artifact(
    scene: Scene, subclass: str, params: dict[str, float], rng: np.random.Generator, survey: Survey
) -> None:
    """Render an artifact of ``subclass`` with truth ``params`` into ``scene``.

    Parameters
    ----------
    scene : Scene
        Scene the light is added to, in place.
    subclass : {"A", "B", "C", "D", "E", "F"}
        Artifact subclass.
    params : dict of str to float
        Truth parameters from :func:`sample_artifact` for the same subclass.
    rng : numpy.random.Generator
        Source of randomness for the details not fixed by ``params``: weights, positions and
        shapes of compact objects, group members and star-forming knots.
    survey : Survey
        Survey of the scene (sets the level of saturated bleed trails).
    """
    _DRAWERS[subclass](scene, params, rng, survey)
