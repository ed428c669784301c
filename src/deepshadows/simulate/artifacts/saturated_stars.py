"""Bright saturated stars near the centre, as the survey viewer shows them: subclass H.

H. a saturated star: a modest one (g 16-18.5) within 3" of the centre (45 %) or a bright one
   (g 11-15) 12-25" away, its halo and spikes crossing the field. Its core is masked or interpolated
   differently in each band: inside a band's mask radius that band holds a flat fill level (zero
   for a masked core, a plateau for an interpolated one) instead of the saturated star. Where the
   mask radii differ, one or two colour channels are missing and the viewer draws coloured rings
   (magenta where only r is masked, yellow where only g is, cyan or blue where z is) around a
   black or white centre. Diffraction spikes, a bleed trail whose length differs per band (so
   that it turns yellow-green or red where only some bands saturate), an HSC ghost and, sometimes,
   the halo of a second bright star entering from the edge complete it.

The star lies in the direct layer (the PSF is part of its shape), so the mask is applied there;
the light of other sources under it is kept.
"""

from __future__ import annotations

import numpy as np

from deepshadows.simulate.artifacts._shared import Drawer, Sampler, grid, host_fluxes, polar
from deepshadows.simulate.artifacts.stars import _ghost, _spikes, spike_parameters, star_parameters
from deepshadows.simulate.photometry import band_fluxes
from deepshadows.simulate.render import Scene
from deepshadows.surveys import BANDS, Survey

__all__ = ["DRAWERS", "SAMPLERS"]

#: Level (in units of the survey's RGB scale) that the viewer stretch shows as white.
_WHITE = 3.0


def _sample_h(rng: np.random.Generator, survey: Survey) -> dict[str, float]:
    # Either a modest star at the centre (its masked core and rings are the candidate) or a bright
    # one towards the edge, whose halo and spikes cross the candidate's field.
    centred = rng.random() < 0.45
    position = polar(rng, 0.0, 3.0) if centred else polar(rng, 12.0, 25.0)
    star = star_parameters(rng, position)
    mag = rng.uniform(16.0, 18.5) if centred else rng.uniform(11.0, 15.0)
    params = {
        **star,
        "host_mag_g": mag,
        **spike_parameters(rng, survey),
        # Radius of the masked core: about 2" at g = 13, growing with the flux.
        "mask_radius": float(np.clip(2.0 * 10 ** (-0.2 * (mag - 13.0)), 0.8, 3.5)),
        "bleed_length": rng.uniform(3.0, 25.0) if mag < 13.5 else 0.0,
        "bleed_width": float(rng.integers(1, 4)),
        "bleed_vertical": float(rng.random() < 0.5),
        "ghost_radius": rng.uniform(20.0, 60.0) if (survey.name == "hsc" and mag < 11.0) else 0.0,
        "ghost_mu_g": rng.uniform(25.0, 26.5),
        "halo_mag_g": rng.uniform(11.5, 13.5) if rng.random() < 0.3 else np.nan,
    }
    _, params["halo_x"], params["halo_y"] = polar(rng, 22.0, 32.0)
    # The centre is masked (zero: black) or interpolated to a near-saturated plateau (white) in
    # every band alike; the rings come from the mask radii, which differ per band.
    fill = 0.0 if rng.random() < 0.5 else rng.uniform(0.8, 1.2)
    for band in BANDS:
        params[f"mask_factor_{band}"] = rng.uniform(0.6, 1.4)
        params[f"mask_fill_{band}"] = fill * rng.uniform(0.9, 1.1)
        params[f"bleed_factor_{band}"] = rng.uniform(0.2, 1.0)
    return params


def _star_bands(scene: Scene, fluxes: np.ndarray, x: float, y: float) -> np.ndarray:
    """Return the full PSF (core and wing) of each band at ``(x, y)``, times the band's flux."""
    offset = (x / scene.pixel_scale, y / scene.pixel_scale)
    return np.stack(
        [
            flux
            * psf.full()
            .drawImage(
                nx=scene.n_pixels,
                ny=scene.n_pixels,
                scale=scene.pixel_scale,
                method="no_pixel",
                offset=offset,
            )
            .array
            for flux, psf in zip(fluxes, scene.psfs, strict=True)
        ]
    )


def _bleed_bands(scene: Scene, params: dict[str, float], white: np.ndarray) -> np.ndarray:
    """Return a saturated trail along one pixel axis whose length differs per band."""
    out = np.zeros((scene.n_bands, scene.n_pixels, scene.n_pixels))
    if params["bleed_length"] <= 0:
        return out
    x, y = grid(scene, params["host_x"], params["host_y"])
    along, across = (y, x) if params["bleed_vertical"] else (x, y)
    narrow = np.abs(across) <= 0.5 * params["bleed_width"] * scene.pixel_scale
    for band, name in enumerate(BANDS):
        half = 0.5 * params["bleed_length"] * params[f"bleed_factor_{name}"]
        out[band][narrow & (np.abs(along) <= half)] = white[band]
    return out


def _draw_h(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    del rng
    fluxes = host_fluxes(params)
    white = np.array([_WHITE / survey.rgb_scale[name] for name in BANDS])
    star = _star_bands(scene, fluxes, params["host_x"], params["host_y"])
    star += _spikes(scene, params, fluxes) + _ghost(scene, params, fluxes)
    star = np.maximum(star, _bleed_bands(scene, params, white))
    x, y = grid(scene, params["host_x"], params["host_y"])
    radius = np.hypot(x, y)
    for band, name in enumerate(BANDS):
        masked = radius <= params["mask_radius"] * params[f"mask_factor_{name}"]
        star[band][masked] = params[f"mask_fill_{name}"] * white[band]
    if np.isfinite(params["halo_mag_g"]):
        halo = band_fluxes(params["halo_mag_g"], params["host_g_r"], params["host_r_i"], params["host_i_z"])
        star += _star_bands(scene, halo, params["halo_x"], params["halo_y"])
    scene.direct += star.astype(scene.direct.dtype)


SAMPLERS: dict[str, Sampler] = {"H": _sample_h}
DRAWERS: dict[str, Drawer] = {"H": _draw_h}
