"""One simulated cutout: draw truth, render, add noise, measure features, apply the viewer pipeline.

Everything here depends only on the object's own seed, so a data set is identical whatever the
number of worker processes and whether it was interrupted and resumed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import galsim
import numpy as np

from deepshadows.classes import PRESELECTION_EXEMPT
from deepshadows.features import Measurement, measure_candidate, passes_preselection
from deepshadows.simulate.artifacts import draw_artifact, sample_artifact
from deepshadows.simulate.field import add_field, field_sky
from deepshadows.simulate.lsbg import LSBGPriors, draw_lsbg, sample_lsbg
from deepshadows.simulate.noise import add_noise
from deepshadows.simulate.randomize import (
    Conditions,
    Randomization,
    condition_columns,
    conditions_rng,
    draw_conditions,
)
from deepshadows.simulate.render import PSFModel, Scene
from deepshadows.surveys import BANDS, Survey, get_survey
from deepshadows.viewer import bands_to_cutout

__all__ = ["CutoutSpec", "SimulatedCutout", "draw_psfs", "render_bands", "simulate_cutout", "truth_columns"]

_MAX_RENDER_ERRORS = 10


@dataclass(frozen=True)
class CutoutSpec:
    """What to simulate for one object and with which options.

    Parameters
    ----------
    survey : str or Survey
        Survey name, or a survey definition.
    kind : str
        ``"lsbg"``, ``"type2"`` or ``"type1"``.
    subclass : str
        Artifact subclass (a key of :data:`deepshadows.classes.SUBCLASS_NAMES`), empty for LSBGs.
    resize : str
        Filter of the final resize.
    image_size : int
        Side of the stored cutout.
    preselect : bool
        Re-draw the object until its measured features pass the catalogue preselection.
    max_attempts : int
        Maximum number of draws when ``preselect`` is true.
    max_offset_arcsec : float
        Largest distance from the centre at which a detection is taken as the candidate.
    field_seed : int
        Seed of the field sky shared by the data set (see :mod:`deepshadows.simulate.field`).
    lsbg_priors : LSBGPriors
        Priors of the LSBG population.
    randomization : Randomization, optional
        Ranges of the per-cutout imaging and rendering conditions (see
        :mod:`deepshadows.simulate.randomize`); None renders every cutout under the survey's
        own conditions with ``resize``.
    lsbg_truth : mapping of str to float, optional
        LSBG parameters given instead of drawn from ``lsbg_priors`` (the ``fixed`` argument of
        :func:`deepshadows.simulate.lsbg.sample_lsbg`), e.g. for completeness grids.
    """

    survey: str | Survey = "des"
    kind: str = "lsbg"
    subclass: str = ""
    resize: str = "nearest"
    image_size: int = 64
    preselect: bool = True
    max_attempts: int = 25
    max_offset_arcsec: float = 3.0
    field_seed: int = 0
    lsbg_priors: LSBGPriors = field(default_factory=LSBGPriors)
    randomization: Randomization | None = None
    lsbg_truth: Mapping[str, float] | None = None


@dataclass
class SimulatedCutout:
    """The products of one simulated object.

    Parameters
    ----------
    image : ndarray of shape (image_size, image_size, 3), uint8
        The cutout as the viewer shows it and the store keeps it (RGB, north up).
    bands : ndarray of shape (4, n, n), float32
        The g, r, i, z images at the native pixel scale, in nanomaggies per pixel, recentred on
        the candidate detection.
    features : ndarray of shape (19,), float64
        Catalogue features measured on the candidate (see :data:`deepshadows.features.FEATURE_NAMES`);
        NaN when the measurement failed.
    feature_flag : int
        Bitmask of the measurement's ``FLAG_*`` values; zero for a clean measurement.
    truth : dict of str to float
        Every drawn parameter, plus ``attempts``, ``preselected``, ``render_errors`` and the
        recentring shift ``recentre_dx``, ``recentre_dy`` (arcsec).
    """

    image: np.ndarray
    bands: np.ndarray
    features: np.ndarray
    feature_flag: int
    truth: dict[str, float]


def draw_psfs(rng: np.random.Generator, survey: Survey) -> tuple[PSFModel, ...]:
    """Draw the per-band PSFs of one cutout: the survey's median seeing plus a common scatter, clipped.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    survey : Survey
        Gives the median FWHM per band, its scatter and its clipping range.

    Returns
    -------
    tuple of PSFModel
        One PSF per band of :data:`deepshadows.surveys.BANDS`.
    """
    delta = rng.normal(0.0, survey.psf_fwhm_scatter)
    wing_fraction = rng.uniform(0.05, 0.20)
    wing_factor = rng.uniform(3.0, 5.0)
    wing_beta = rng.uniform(1.5, 2.0)
    return tuple(
        PSFModel(
            fwhm=float(np.clip(survey.psf_fwhm[band] + delta, *survey.psf_fwhm_range)),
            beta=3.0,
            wing_fraction=wing_fraction,
            wing_fwhm_factor=wing_factor,
            wing_beta=wing_beta,
        )
        for band in BANDS
    )


def render_bands(spec: CutoutSpec, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """Draw one object of ``spec`` with its field and noise; return native bands and truth.

    Parameters
    ----------
    spec : CutoutSpec
        Kind, subclass and survey.
    rng : numpy.random.Generator
        Source of all randomness (parameters and pixel noise).

    Returns
    -------
    bands : ndarray of shape (4, n, n), float32
        g, r, i, z in nanomaggies per native pixel, FITS orientation.
    truth : dict of str to float
        Every parameter that was drawn.
    """
    survey = get_survey(spec.survey)
    psfs = draw_psfs(rng, survey)
    scene = Scene(survey.stamp_pixels, survey.native_scale, psfs)
    if spec.kind == "lsbg":
        params = sample_lsbg(rng, spec.lsbg_priors, fixed=spec.lsbg_truth)
        draw_lsbg(scene, params, rng, survey)
    else:
        params = sample_artifact(rng, spec.subclass, survey)
        draw_artifact(scene, spec.subclass, params, rng, survey)
    sky = field_sky(survey.name, spec.field_seed)
    params |= add_field(scene, rng, sky, keep_centre_clear=spec.kind == "lsbg")
    params |= {f"psf_fwhm_{band}": psf.fwhm for band, psf in zip(BANDS, psfs, strict=True)}
    bands = scene.render()
    sigma = np.array([survey.noise_sigma[band] for band in BANDS])
    add_noise(bands, sigma, rng, correlation_px=survey.noise_correlation)
    return bands, params


def simulate_cutout(spec: CutoutSpec, seed: np.random.SeedSequence | int) -> SimulatedCutout:
    """Simulate one object end to end.

    The object is re-drawn (up to ``spec.max_attempts`` times) until the features measured on its
    central detection pass the catalogue preselection, as every object of the real samples did.
    Objects of the subclasses in :data:`deepshadows.classes.PRESELECTION_EXEMPT` (bright stars,
    galaxies and crowded fields) are not required to pass.

    Parameters
    ----------
    spec : CutoutSpec
        What to simulate.
    seed : numpy.random.SeedSequence or int
        The object's own seed.

    Returns
    -------
    SimulatedCutout
    """
    conditions: Conditions | None = None
    if spec.randomization is not None:
        base = get_survey(spec.survey)
        conditions = draw_conditions(conditions_rng(seed), base, spec.randomization)
        spec = dataclasses.replace(
            spec, survey=conditions.apply_to(base, max_offset_arcsec=spec.max_offset_arcsec)
        )
    survey = get_survey(spec.survey)
    rng = np.random.default_rng(seed)
    sigma = [survey.pixel_noise()[band] for band in BANDS]
    required = spec.preselect and spec.subclass not in PRESELECTION_EXEMPT
    attempt = render_errors = 0
    drawn: tuple[np.ndarray, dict[str, float], Measurement, bool] | None = None
    while attempt < spec.max_attempts or drawn is None:
        attempt += 1
        try:
            bands, truth = render_bands(spec, rng)
        except galsim.GalSimError:
            # A numerical failure of one draw (rare parameter corners) costs a re-draw, not the run.
            render_errors += 1
            if render_errors > _MAX_RENDER_ERRORS:
                raise
            continue
        measured = measure_candidate(
            bands,
            pixel_scale=survey.native_scale,
            noise_sigma=sigma,
            max_offset_arcsec=spec.max_offset_arcsec,
        )
        drawn = (bands, truth, measured, bool(passes_preselection(measured.features)))
        if drawn[3] or not required:
            break
    bands, truth, measured, passed = drawn
    bands, shift = centre_on_detection(bands, measured)
    truth |= {
        "attempts": float(attempt),
        "preselected": float(passed),
        "render_errors": float(render_errors),
        "recentre_dx": shift[0] * survey.native_scale,
        "recentre_dy": shift[1] * survey.native_scale,
    }
    if conditions is None:
        image = bands_to_cutout(bands, survey=survey, resize=spec.resize, size=spec.image_size)  # type: ignore[arg-type]
    else:
        truth |= conditions.truth()
        image = bands_to_cutout(
            conditions.add_sky(bands),
            survey=survey,
            resize=conditions.resize,  # type: ignore[arg-type]
            size=spec.image_size,
            recompress_quality=conditions.recompress_quality or None,
        )
    return SimulatedCutout(
        image=image, bands=bands, features=measured.features, feature_flag=int(measured.flag), truth=truth
    )


def centre_on_detection(bands: np.ndarray, measured: Measurement) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift the stamp by whole pixels so that the candidate's centroid sits at the centre.

    Real cutouts are centred on the catalogue position of the detection. The shift is at most the
    accepted detection offset (a few pixels), smaller than the margin between the rendered stamp
    and the viewer's field of view, so the wrapped-around edge never shows in the cutout.

    Returns
    -------
    bands : ndarray
        The shifted stamp (the input when there is no detection).
    shift : tuple of int
        Pixels moved along x (columns) and y (rows); the object moved by minus this.
    """
    if not (np.isfinite(measured.x) and np.isfinite(measured.y)):
        return bands, (0, 0)
    _, height, width = bands.shape
    dx = int(round(measured.x - 0.5 * (width - 1)))
    dy = int(round(measured.y - 0.5 * (height - 1)))
    if dx == 0 and dy == 0:
        return bands, (0, 0)
    return np.roll(bands, (-dy, -dx), axis=(1, 2)), (dx, dy)


@functools.lru_cache(maxsize=1)
def truth_columns() -> tuple[str, ...]:
    """Names of the truth table's columns: the union of every class's parameters, sorted.

    Columns that do not apply to an object hold NaN.
    """
    from deepshadows.simulate.artifacts import SUBCLASS_NAMES

    rng = np.random.default_rng(0)
    keys: set[str] = set(sample_lsbg(rng))
    for name in ("des", "hsc"):
        for subclass in SUBCLASS_NAMES:
            keys |= set(sample_artifact(rng, subclass, get_survey(name)))
    keys |= {
        "field_x",
        "field_y",
        "field_orientation",
        "n_field_stars",
        "attempts",
        "preselected",
        "recentre_dx",
        "recentre_dy",
    }
    keys |= {f"psf_fwhm_{band}" for band in BANDS}
    keys |= set(condition_columns())
    return tuple(sorted(keys))
