"""The field population present in every cutout: background galaxies and foreground stars.

Number counts, sizes and colours follow the science specification, section 5.6.

The field is rendered once per data set as a large *field sky* (2048 x 2048 native pixels: 9 arcmin
on a side for DES, 5.7 for HSC, several thousand galaxies) of light before the PSF. Each cutout
takes a random window of it, in one of the eight orientations of the square, and convolves it with
its own PSF together with the central object. A cutout then costs a slice instead of ~40 GalSim
draws, and a data set of 40,000 cutouts sees ~6 million distinct placements of the field. Bright
stars are kept as a catalogue and drawn per cutout with the full PSF (core, wing), since their
wings depend on the cutout's seeing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import galsim
import numpy as np

from deepshadows.simulate.photometry import band_fluxes, stellar_colours
from deepshadows.simulate.render import PSFModel, Scene
from deepshadows.surveys import Survey, get_survey

__all__ = ["FieldConfig", "FieldSky", "add_field", "build_field_sky", "field_sky"]

_BRIGHT_FIELD_STAR = 18.0  # stars brighter than this (r) get the full PSF with its wing
_SKY_PIXELS = 2048


@dataclass(frozen=True)
class FieldConfig:
    """Parameters of the field population (defaults from the science specification).

    Parameters
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
        Mean number of stars with 16 < r < 24 per 33.5-arcsec DES field of view.
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


@dataclass(frozen=True)
class FieldSky:
    """A large patch of field population, before the PSF.

    Parameters
    ----------
    extended : ndarray of shape (4, n, n), float32
        Galaxies and faint stars per band, nanomaggies per native pixel, FITS orientation.
    pixel_scale : float
        Arcsec per pixel.
    source_xy : ndarray of shape (k, 2)
        Pixel positions (column, row) of the galaxies and faint stars brighter than the clear
        magnitude (for keeping LSBG centres clear).
    star_xy : ndarray of shape (s, 2)
        Pixel positions of bright stars (drawn per cutout).
    star_fluxes : ndarray of shape (s, 4)
        Their fluxes per band, nanomaggies.
    n_galaxies : int
        Number of galaxies rendered.
    """

    extended: np.ndarray
    pixel_scale: float
    source_xy: np.ndarray
    star_xy: np.ndarray
    star_fluxes: np.ndarray
    n_galaxies: int

    @property
    def n_pixels(self) -> int:
        """Side of the sky in pixels."""
        return int(self.extended.shape[-1])


def _galaxy_count_mean(area_deg2: float, faint: float, cfg: FieldConfig) -> float:
    slope = cfg.counts_slope * np.log(10.0)
    integral = (np.exp(slope * (faint - 24.0)) - np.exp(slope * (cfg.bright_mag - 24.0))) / slope
    return cfg.counts_at_24 * integral * area_deg2


def _draw_counts_mags(rng: np.random.Generator, n: int, faint: float, cfg: FieldConfig) -> np.ndarray:
    """Inverse-CDF draw of magnitudes from exponential counts between bright_mag and faint."""
    slope = cfg.counts_slope * np.log(10.0)
    lo, hi = np.exp(slope * cfg.bright_mag), np.exp(slope * faint)
    return np.log(lo + rng.random(n) * (hi - lo)) / slope


def build_field_sky(
    survey: Survey | str,
    rng: np.random.Generator,
    *,
    n_pixels: int = _SKY_PIXELS,
    cfg: FieldConfig | None = None,
) -> FieldSky:
    """Render a square patch of field galaxies and stars before the PSF.

    Parameters
    ----------
    survey : Survey or str
        Gives the pixel scale and the faint limit of the galaxies.
    rng : numpy.random.Generator
        Source of randomness.
    n_pixels : int, optional
        Side of the patch in native pixels.
    cfg : FieldConfig, optional
        Population parameters.

    Returns
    -------
    FieldSky
    """
    survey = get_survey(survey)
    cfg = cfg or FieldConfig()
    # Only the extended layer is used from this scene; its PSFs are never applied.
    scene = Scene(n_pixels, survey.native_scale, [PSFModel(fwhm=1.0)] * 4)
    half = scene.half_width
    area_deg2 = (2.0 * half / 3600.0) ** 2
    n_gal = int(rng.poisson(_galaxy_count_mean(area_deg2, survey.field_mag_limit, cfg)))
    mags = _draw_counts_mags(rng, n_gal, survey.field_mag_limit, cfg)
    positions = rng.uniform(-half, half, size=(n_gal, 2))
    depth = survey.field_mag_limit - cfg.bright_mag
    for mag_r, (x, y) in zip(mags, positions, strict=True):
        # Fainter galaxies are smaller: 1.5" at the bright end to 0.3" at the faint limit.
        r_eff = float(np.clip(1.5 - 1.2 * (mag_r - cfg.bright_mag) / depth + rng.normal(0, 0.15), 0.25, 2.0))
        disc = rng.random() < 0.7
        ellipticity = rng.uniform(0.0, 0.7)
        g_r, r_i, i_z = rng.uniform(0.3, 1.5), rng.uniform(0.1, 0.6), rng.uniform(0.05, 0.4)
        # Drawn out to 4 (discs: 99 % of the light) or 6 half-light radii (bulges, truncated there).
        if disc:
            extent = 4.0 * r_eff
            profile = galsim.Exponential(half_light_radius=r_eff)
        else:
            extent = 6.0 * r_eff
            profile = galsim.DeVaucouleurs(half_light_radius=r_eff, trunc=extent)
        profile = profile.shear(q=1.0 - ellipticity, beta=rng.uniform(0, np.pi) * galsim.radians)
        scene.add_profile(
            profile, band_fluxes(mag_r + g_r, g_r, r_i, i_z), x=x, y=y, half_light_radius=r_eff, extent=extent
        )
    n_star = int(rng.poisson(cfg.stars_per_des_field * (2.0 * half / 33.5) ** 2))
    star_mags = rng.uniform(16.0, 24.0, n_star)
    star_pos = rng.uniform(-half, half, size=(n_star, 2))
    star_fluxes = np.array(
        [band_fluxes(m + gr, gr, ri, iz) for m in star_mags for gr, ri, iz in [stellar_colours(rng)]]
    ).reshape(n_star, 4)
    faint = star_mags >= _BRIGHT_FIELD_STAR
    scene.add_points(star_pos[faint, 0], star_pos[faint, 1], star_fluxes[faint])
    to_pixels = np.vectorize(scene._to_pixels)  # noqa: SLF001 - same class family
    bright_sources = np.concatenate([positions[mags < cfg.clear_mag], star_pos[star_mags < cfg.clear_mag]])
    return FieldSky(
        extended=scene.extended,
        pixel_scale=survey.native_scale,
        source_xy=np.stack(to_pixels(bright_sources[:, 0], bright_sources[:, 1]), axis=1),
        star_xy=np.stack(to_pixels(star_pos[~faint, 0], star_pos[~faint, 1]), axis=1).reshape(-1, 2),
        star_fluxes=star_fluxes[~faint],
        n_galaxies=n_gal,
    )


@functools.lru_cache(maxsize=2)
def field_sky(survey_name: str, seed: int) -> FieldSky:
    """Return the field sky of a data set (built once per process and cached).

    Parameters
    ----------
    survey_name : str
        Survey.
    seed : int
        Data-set seed; the sky depends only on it and the survey.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 + 1,)))
    return build_field_sky(survey_name, rng)


def _orient(array: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Apply one of the eight symmetries of the square to the last two axes."""
    out = np.rot90(array, k, axes=(-2, -1))
    return out[..., ::-1] if flip else out


def _orient_points(xy: np.ndarray, n: int, k: int, flip: bool) -> np.ndarray:
    """Pixel positions (column, row) in a window of side ``n`` after :func:`_orient`."""
    col, row = xy[:, 0], xy[:, 1]
    for _ in range(k % 4):  # np.rot90 on (row, col): new[r, c] = old[c, n - 1 - r]
        col, row = row, n - 1 - col
    if flip:
        col = n - 1 - col
    return np.stack([col, row], axis=1)


def add_field(
    scene: Scene,
    rng: np.random.Generator,
    sky: FieldSky,
    *,
    keep_centre_clear: bool,
    cfg: FieldConfig | None = None,
) -> dict[str, float]:
    """Add a random window of the field sky (and its bright stars) to ``scene``.

    Parameters
    ----------
    scene : Scene
        Scene to draw into (same pixel scale as the sky).
    rng : numpy.random.Generator
        Chooses the window and its orientation.
    sky : FieldSky
        The data set's field.
    keep_centre_clear : bool
        Choose a window without field sources brighter than ``cfg.clear_mag`` within
        ``cfg.clear_radius`` of the centre (LSBG cutouts were selected by eye without bright
        overlaps).
    cfg : FieldConfig, optional
        Population parameters.

    Returns
    -------
    dict
        Truth: ``field_x``, ``field_y`` (window centre in sky pixels), ``field_orientation``
        (0-7) and ``n_field_stars`` (bright stars drawn).
    """
    cfg = cfg or FieldConfig()
    n = scene.n_pixels
    clear = cfg.clear_radius / sky.pixel_scale
    while True:
        c0, r0 = (int(v) for v in rng.integers(0, sky.n_pixels - n, size=2))
        centre = np.array([c0 + 0.5 * (n - 1), r0 + 0.5 * (n - 1)])
        if not keep_centre_clear or not (np.hypot(*(sky.source_xy - centre).T) < clear).any():
            break
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    # Copy the window first: rotating a view of the large sky reads it with a stride of a whole
    # sky row, which is several times slower than rotating the small contiguous copy.
    window = np.ascontiguousarray(sky.extended[:, r0 : r0 + n, c0 : c0 + n])
    scene.extended += _orient(window, k, flip)
    margin = n // 4  # wings of stars just outside the stamp still reach it
    inside = np.all(
        (sky.star_xy >= [c0 - margin, r0 - margin]) & (sky.star_xy < [c0 + n + margin, r0 + n + margin]),
        axis=1,
    )
    local = _orient_points(sky.star_xy[inside] - [c0, r0], n, k, flip)
    centre_pix = 0.5 * (n - 1)
    for (col, row), fluxes in zip(local, sky.star_fluxes[inside], strict=True):
        scene.add_star(
            fluxes, x=(col - centre_pix) * scene.pixel_scale, y=(row - centre_pix) * scene.pixel_scale
        )
    return {
        "field_x": float(centre[0]),
        "field_y": float(centre[1]),
        "field_orientation": float(4 * flip + k),
        "n_field_stars": float(len(local)),
    }
