"""Low-surface-brightness galaxies: priors (science specification, section 4) and rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import galsim
import numpy as np

from deepshadows.errors import InputError
from deepshadows.simulate.photometry import band_fluxes, mean_sb_to_mag
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["FIXABLE_PARAMETERS", "LSBGPriors", "draw_lsbg", "sample_lsbg"]

#: Truth parameters that :func:`sample_lsbg` can take as given instead of drawing them.
FIXABLE_PARAMETERS: tuple[str, ...] = ("mu_mean_g", "r_eff", "sersic_n", "q", "g_i")
#: The g - i colour that splits red from blue LSBGs (Tanoglidis et al. 2021).
RED_SPLIT_G_I = 0.60


def _quantile_draw(rng: np.random.Generator, levels: tuple[float, ...], values: tuple[float, ...]) -> float:
    """Draw from a distribution given by a piecewise-linear quantile function."""
    return float(np.interp(rng.random(), levels, values))


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    while True:
        value = rng.normal(mean, sd)
        if lo <= value < hi:
            return float(value)


def _truncated_lognormal(
    rng: np.random.Generator, median: float, sigma: float, lo: float, hi: float
) -> float:
    while True:
        value = median * np.exp(rng.normal(0.0, sigma))
        if lo <= value <= hi:
            return float(value)


@dataclass(frozen=True)
class LSBGPriors:
    """Structural and colour priors of the LSBG population (DES defaults).

    The ellipticity and mean-surface-brightness shapes are the quantiles measured on the HSC
    (Greco et al. 2018) catalogue; sizes, the red fraction and the cuts follow the DES sample of
    Tanoglidis et al. (2021). All values are assumptions that can be replaced.

    Parameters
    ----------
    red_fraction : float, optional
        Fraction of red LSBGs (g - i >= 0.60); the others are blue.
    r_eff_median : float, optional
        Median of the log-normal prior on the semi-major half-light radius, arcsec.
    r_eff_sigma : float, optional
        Width of that log-normal (standard deviation of the natural logarithm).
    r_eff_range : tuple of float, optional
        Range (arcsec) the radius is truncated to; draws outside it are repeated.
    sersic_median, sersic_sigma : float, optional
        Median and natural-log width of the log-normal prior on the Sersic index.
    sersic_range : tuple of float, optional
        Range the Sersic index is truncated to.
    ellipticity_levels, ellipticity_values : tuple of float, optional
        Piecewise-linear quantile function of the ellipticity ``1 - q``: cumulative
        probabilities (from 0 to 1) and the ellipticities at them.
    sb_levels, sb_values : tuple of float, optional
        Piecewise-linear quantile function of the mean g-band surface brightness within the
        effective radius, mag/arcsec^2: cumulative probabilities and the values at them.
    sb_shift_blue, sb_shift_red : float, optional
        Shift added to the drawn surface brightness of blue and red LSBGs, mag/arcsec^2
        (red LSBGs are fainter).
    sb_range : tuple of float, optional
        Accepted range of the shifted mean surface brightness, mag/arcsec^2; draws outside
        it are repeated.
    sb_taper_start : float, optional
        Mean surface brightness (mag/arcsec^2) beyond which draws are accepted with probability
        ``exp(-((mu - sb_taper_start) / sb_taper_width)^2)``.
    sb_taper_width : float, optional
        Width of that taper, mag/arcsec^2.
    knots_fraction_blue : float, optional
        Fraction of blue LSBGs with star-forming knots.
    nucleus_fraction_red : float, optional
        Fraction of red LSBGs with a nucleus.
    max_centre_offset : float, optional
        Largest offset of the galaxy from the cutout centre, arcsec (drawn uniformly over the
        disc of that radius).
    """

    red_fraction: float = 0.33
    r_eff_median: float = 4.1
    r_eff_sigma: float = 0.30
    r_eff_range: tuple[float, float] = (2.5, 20.0)
    sersic_median: float = 0.85
    sersic_sigma: float = 0.40
    sersic_range: tuple[float, float] = (0.3, 4.0)
    ellipticity_levels: tuple[float, ...] = (0.0, 0.05, 0.16, 0.5, 0.84, 0.95, 1.0)
    ellipticity_values: tuple[float, ...] = (0.0, 0.06, 0.14, 0.30, 0.48, 0.58, 0.65)
    #: Quantiles of the mean g surface brightness (HSC shape), shifted per colour class.
    sb_levels: tuple[float, ...] = (0.0, 0.05, 0.16, 0.5, 0.84, 0.95, 1.0)
    sb_values: tuple[float, ...] = (23.4, 23.84, 24.08, 24.64, 25.68, 26.23, 27.0)
    sb_shift_blue: float = -0.15
    sb_shift_red: float = 0.35
    sb_range: tuple[float, float] = (24.2, 27.0)
    #: Beyond this mean surface brightness the shallower DES imaging finds fewer LSBGs.
    sb_taper_start: float = 25.5
    sb_taper_width: float = 0.6
    knots_fraction_blue: float = 0.45
    nucleus_fraction_red: float = 0.15
    max_centre_offset: float = 0.5


def _draw_mean_sb(rng: np.random.Generator, p: LSBGPriors, red: bool) -> float:
    """Draw the mean g surface brightness of a red or blue LSBG (shifted, truncated, tapered)."""
    shift = p.sb_shift_red if red else p.sb_shift_blue
    while True:
        mu = _quantile_draw(rng, p.sb_levels, p.sb_values) + shift
        if not p.sb_range[0] <= mu <= p.sb_range[1]:
            continue
        excess = max(0.0, mu - p.sb_taper_start) / p.sb_taper_width
        if rng.random() < np.exp(-(excess**2)):
            return float(mu)


def _check_fixed(fixed: Mapping[str, float] | None) -> dict[str, float]:
    """Return the fixed parameters as floats, checked (see :func:`sample_lsbg`)."""
    given = {str(k): float(v) for k, v in (fixed or {}).items()}
    unknown = sorted(set(given) - set(FIXABLE_PARAMETERS))
    if unknown:
        raise InputError(
            f"fixed: cannot fix {', '.join(unknown)}; "
            f"fixable LSBG parameters: {', '.join(FIXABLE_PARAMETERS)}"
        )
    limits = {"r_eff": (1e-3, 1e3), "q": (1e-3, 1.0), "sersic_n": (0.3, 6.2)}
    for name, (lo, hi) in limits.items():
        if name in given and not lo <= given[name] <= hi:
            raise InputError(f"fixed: {name} = {given[name]} lies outside [{lo:g}, {hi:g}]")
    bad = [name for name, value in given.items() if not np.isfinite(value)]
    if bad:
        raise InputError(f"fixed: {', '.join(bad)} must be finite")
    return given


def sample_lsbg(
    rng: np.random.Generator,
    priors: LSBGPriors | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Draw the truth parameters of one LSBG.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    priors : LSBGPriors, optional
        Population priors (DES defaults).
    fixed : mapping of str to float, optional
        Parameters taken as given instead of drawn (keys of :data:`FIXABLE_PARAMETERS`): the
        mean g surface brightness ``mu_mean_g``, ``r_eff``, ``sersic_n``, ``q`` and ``g_i``.
        The others follow from them as for a drawn LSBG: a fixed ``g_i`` sets the colour class
        (red from 0.60) and ``g_r``, ``r_i`` and ``i_z`` through the colour relations, and
        ``mag_g`` follows from the surface brightness, radius and axis ratio. Without it the
        draws are those of earlier releases, number for number.

    Raises
    ------
    deepshadows.errors.InputError
        If ``fixed`` names a parameter that cannot be fixed or holds a value that cannot be
        rendered (a radius or axis ratio outside (0, 1] for ``q``, a Sersic index outside
        GalSim's range 0.3 to 6.2).

    Returns
    -------
    dict of str to float
        ``red``, ``r_eff`` (arcsec, semi-major), ``sersic_n``, ``q``, ``position_angle`` (deg),
        ``mu_mean_g`` (mag/arcsec^2), ``mag_g``, ``g_r``, ``g_i``, ``r_i``, ``i_z``, ``x``, ``y``
        (arcsec), ``knot_fraction``, ``n_knots``, ``nucleus_fraction``.
    """
    p = priors or LSBGPriors()
    given = _check_fixed(fixed)
    red = given["g_i"] >= RED_SPLIT_G_I if "g_i" in given else rng.random() < p.red_fraction
    r_eff = given.get("r_eff") or _truncated_lognormal(rng, p.r_eff_median, p.r_eff_sigma, *p.r_eff_range)
    sersic_n = given.get("sersic_n") or _truncated_lognormal(
        rng, p.sersic_median, p.sersic_sigma, *p.sersic_range
    )
    q = given.get("q") or 1.0 - _quantile_draw(rng, p.ellipticity_levels, p.ellipticity_values)
    mu = given["mu_mean_g"] if "mu_mean_g" in given else _draw_mean_sb(rng, p, red)
    if "g_i" in given:
        g_i = given["g_i"]
    elif red:
        g_i = _truncated_normal(rng, 0.84, 0.16, RED_SPLIT_G_I, 1.4)
    else:
        g_i = _truncated_normal(rng, 0.46, 0.10, -0.1, RED_SPLIT_G_I)
    g_r = 0.016 + 0.654 * g_i + rng.normal(0.0, 0.053)
    r_i = g_i - g_r
    i_z = 0.7 * r_i + rng.normal(0.0, 0.05)
    radius, angle = p.max_centre_offset * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
    has_knots = (not red) and rng.random() < p.knots_fraction_blue
    has_nucleus = red and rng.random() < p.nucleus_fraction_red
    return {
        "red": float(red),
        "r_eff": r_eff,
        "sersic_n": sersic_n,
        "q": q,
        "position_angle": float(rng.uniform(0.0, 180.0)),
        "mu_mean_g": float(mu),
        "mag_g": mean_sb_to_mag(mu, r_eff, q),
        "g_r": float(g_r),
        "g_i": float(g_i),
        "r_i": float(r_i),
        "i_z": float(i_z),
        "x": float(radius * np.cos(angle)),
        "y": float(radius * np.sin(angle)),
        "knot_fraction": float(rng.uniform(0.05, 0.25)) if has_knots else 0.0,
        "n_knots": float(rng.integers(10, 51)) if has_knots else 0.0,
        "knot_bluer": float(rng.uniform(0.1, 0.3)) if has_knots else 0.0,
        "nucleus_fraction": float(rng.uniform(0.01, 0.10)) if has_nucleus else 0.0,
    }


def draw_lsbg(scene: Scene, params: dict[str, float], rng: np.random.Generator, survey: Survey) -> None:
    """Add an LSBG with the given truth parameters to ``scene``.

    The Sersic profile has the semi-major half-light radius ``r_eff``: GalSim shears preserve area,
    so it is built with ``R_eff sqrt(q)``. Star-forming knots (blue LSBGs) are point-like clumps
    scattered like the light; a nucleus (red LSBGs) is a point source at the centre.

    Parameters
    ----------
    scene : Scene
        Scene the light is added to, in place.
    params : dict of str to float
        Truth parameters from :func:`sample_lsbg`.
    rng : numpy.random.Generator
        Source of randomness for the positions and relative fluxes of the knots.
    survey : Survey
        Survey of the scene; unused (the recipe is the same for every survey, and the PSF lives
        in the scene).
    """
    del survey  # the recipe is the same for every survey; the PSF lives in the scene
    fluxes = band_fluxes(params["mag_g"], params["g_r"], params["r_i"], params["i_z"])
    knot_fraction, nucleus_fraction = params["knot_fraction"], params["nucleus_fraction"]
    smooth = 1.0 - knot_fraction - nucleus_fraction
    q, r_eff = params["q"], params["r_eff"]
    profile = galsim.Sersic(params["sersic_n"], half_light_radius=r_eff * np.sqrt(q)).shear(
        q=q, beta=params["position_angle"] * galsim.degrees
    )
    x, y = params["x"], params["y"]
    scene.add_profile(profile, smooth * fluxes, x=x, y=y, half_light_radius=r_eff, extent=6.0 * r_eff)
    if knot_fraction > 0:
        n_knots = int(params["n_knots"])
        # Knot positions follow a Gaussian with the galaxy's half-light radius, sheared like it.
        sigma = r_eff / 1.1774
        u = rng.normal(0.0, sigma, n_knots)
        v = rng.normal(0.0, sigma * q, n_knots)
        pa = np.deg2rad(params["position_angle"])
        kx = x + u * np.cos(pa) - v * np.sin(pa)
        ky = y + u * np.sin(pa) + v * np.cos(pa)
        weights = rng.exponential(1.0, n_knots)
        weights /= weights.sum()
        knot_colours = band_fluxes(
            params["mag_g"], params["g_r"] - params["knot_bluer"], params["r_i"], params["i_z"]
        )
        knot_colours *= fluxes.sum() / knot_colours.sum()
        scene.add_points(kx, ky, knot_fraction * weights[:, None] * knot_colours[None, :])
    if nucleus_fraction > 0:
        scene.add_points(np.array([x]), np.array([y]), nucleus_fraction * fluxes[None, :])
