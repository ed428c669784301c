"""The field population present in every cutout: background galaxies and foreground stars.

Number counts, sizes and colours follow the science specification, section 5.6.
"""

from __future__ import annotations

import galsim
import numpy as np

from deepshadows.simulate.photometry import band_fluxes, stellar_colours
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["FieldConfig", "add_field"]

_BRIGHT_FIELD_STAR = 20.0  # stars brighter than this (r) get the full PSF with its wing


class FieldConfig:
    """Parameters of the field population (defaults from the science specification).

    Attributes
    ----------
    counts_at_24 : float
        Differential galaxy counts at r = 24 per square degree per magnitude (twice the
        specification's starting value: with it the simulated cutouts reach the background
        level and source-pixel fraction of real DES cutouts more closely).
    counts_slope : float
        Logarithmic slope of the counts, ``dN/dm ~ 10^(slope (m - 24))``.
    bright_mag : float
        Brightest field galaxy (r).
    stars_per_des_field : float
        Mean number of stars with r < 24 per 33.5-arcsec DES field of view.
    clear_radius : float
        Radius in arcsec around the centre kept free of field sources brighter than
        ``clear_mag`` in LSBG cutouts.
    clear_mag : float
        See ``clear_radius``.
    """

    counts_at_24: float = 1.0e5
    counts_slope: float = 0.33
    bright_mag: float = 18.0
    stars_per_des_field: float = 1.0
    clear_radius: float = 3.0
    clear_mag: float = 23.0


def _galaxy_count_mean(area_deg2: float, faint: float, cfg: FieldConfig) -> float:
    slope = cfg.counts_slope * np.log(10.0)
    integral = (np.exp(slope * (faint - 24.0)) - np.exp(slope * (cfg.bright_mag - 24.0))) / slope
    return cfg.counts_at_24 * integral * area_deg2


def _draw_counts_mags(rng: np.random.Generator, n: int, faint: float, cfg: FieldConfig) -> np.ndarray:
    """Inverse-CDF draw of magnitudes from exponential counts between bright_mag and faint."""
    slope = cfg.counts_slope * np.log(10.0)
    lo, hi = np.exp(slope * cfg.bright_mag), np.exp(slope * faint)
    return np.log(lo + rng.random(n) * (hi - lo)) / slope


def add_field(
    scene: Scene,
    rng: np.random.Generator,
    survey: Survey,
    *,
    keep_centre_clear: bool,
    cfg: FieldConfig | None = None,
) -> dict[str, float]:
    """Add background galaxies and stars over the whole rendered stamp.

    Parameters
    ----------
    scene : Scene
        Scene to draw into.
    rng : numpy.random.Generator
        Source of randomness.
    survey : Survey
        Gives the faint limit and the stamp size.
    keep_centre_clear : bool
        Move field sources brighter than ``cfg.clear_mag`` out of the central ``cfg.clear_radius``
        (used for LSBG cutouts, which were selected by eye without bright overlaps).
    cfg : FieldConfig, optional
        Population parameters.

    Returns
    -------
    dict
        Truth summary: ``n_field_galaxies``, ``n_field_stars``.
    """
    cfg = cfg or FieldConfig()
    half = scene.half_width
    area_deg2 = (2.0 * half / 3600.0) ** 2
    n_gal = rng.poisson(_galaxy_count_mean(area_deg2, survey.field_mag_limit, cfg))
    mags = _draw_counts_mags(rng, n_gal, survey.field_mag_limit, cfg)
    depth = survey.field_mag_limit - cfg.bright_mag
    for mag_r in mags:
        x, y = _position(rng, half, mag_r, keep_centre_clear, cfg)
        # Fainter galaxies are smaller: 1.5" at the bright end to 0.3" at the faint limit.
        r_eff = float(np.clip(1.5 - 1.2 * (mag_r - cfg.bright_mag) / depth + rng.normal(0, 0.15), 0.25, 2.0))
        disc = rng.random() < 0.7
        ellipticity = rng.uniform(0.0, 0.7)
        g_r = rng.uniform(0.3, 1.5)
        r_i = rng.uniform(0.1, 0.6)
        i_z = rng.uniform(0.05, 0.4)
        trunc = 8.0 * r_eff
        profile = (
            galsim.Exponential(half_light_radius=r_eff)
            if disc
            else galsim.DeVaucouleurs(half_light_radius=r_eff, trunc=trunc)
        )
        profile = profile.shear(q=1.0 - ellipticity, beta=rng.uniform(0, np.pi) * galsim.radians)
        scene.add_profile(
            profile, band_fluxes(mag_r + g_r, g_r, r_i, i_z), x=x, y=y, half_light_radius=r_eff, extent=trunc
        )
    n_star = rng.poisson(cfg.stars_per_des_field * (2.0 * half / 33.5) ** 2)
    for _ in range(n_star):
        mag_r = rng.uniform(16.0, 24.0)
        x, y = _position(rng, half, mag_r, keep_centre_clear, cfg)
        g_r, r_i, i_z = stellar_colours(rng)
        fluxes = band_fluxes(mag_r + g_r, g_r, r_i, i_z)
        if mag_r < _BRIGHT_FIELD_STAR:
            scene.add_star(fluxes, x=x, y=y)
        else:
            scene.add_points(np.array([x]), np.array([y]), fluxes[None, :])
    return {"n_field_galaxies": float(n_gal), "n_field_stars": float(n_star)}


def _position(
    rng: np.random.Generator, half: float, mag: float, keep_centre_clear: bool, cfg: FieldConfig
) -> tuple[float, float]:
    x, y = rng.uniform(-half, half, size=2)
    if keep_centre_clear and mag < cfg.clear_mag:
        while np.hypot(x, y) < cfg.clear_radius:
            x, y = rng.uniform(-half, half, size=2)
    return float(x), float(y)
