"""Injection: one simulated LSBG added to a background, measured and turned into a cutout.

On a simulated field the whole object is the simulator's own (:func:`deepshadows.simulate.simulate_cutout`
with the truth given, no re-draws, recentred on the detection as the catalogue cutouts are). In a
real cutout the LSBG is rendered alone by the same code (:func:`deepshadows.simulate.lsbg.draw_lsbg`
on a :class:`~deepshadows.simulate.render.Scene` of the cutout's size, convolved with a PSF drawn
from the survey's seeing) and added to the real band images pixel for pixel, so the injected
flux is exactly the model's; then the features are measured and the viewer's pipeline is
re-applied to the sum. Every job depends only on its own seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from deepshadows.completeness.backgrounds import Background, read_background
from deepshadows.data.fits import measure_band_features
from deepshadows.errors import InputError
from deepshadows.features import passes_preselection
from deepshadows.simulate.cutout import CutoutSpec, draw_psfs, simulate_cutout
from deepshadows.simulate.dataset import object_seed
from deepshadows.simulate.lsbg import draw_lsbg, sample_lsbg
from deepshadows.simulate.render import Scene
from deepshadows.surveys import BANDS, Survey, get_survey
from deepshadows.viewer import bands_to_cutout

__all__ = ["TRUTH_COLUMNS", "Job", "Outcome", "inject_lsbg", "run_job", "run_jobs"]

#: Truth parameters kept per injected LSBG (the simulator's keys; NaN for artifacts).
TRUTH_COLUMNS: tuple[str, ...] = (
    "mu_mean_g",
    "r_eff",
    "sersic_n",
    "q",
    "g_i",
    "g_r",
    "mag_g",
    "red",
    "position_angle",
    "knot_fraction",
    "nucleus_fraction",
    "psf_fwhm_g",
    "injected_flux_g",
    "injected_flux_r",
    "injected_flux_z",
)


@dataclass(frozen=True)
class Job:
    """One object to simulate or inject.

    Parameters
    ----------
    index : int
        Its number in the run; its seed is ``object_seed(seed, index)``.
    kind : {"lsbg", "type2", "type1", "background"}
        An LSBG, a simulated artifact, or a real background cutout left as it is.
    subclass : str, optional
        Artifact subclass (empty for LSBGs and backgrounds).
    truth : mapping of str to float, optional
        LSBG parameters given instead of drawn (see :func:`deepshadows.simulate.lsbg.sample_lsbg`).
    background : Background, optional
        The real cutout to inject into; None for a simulated field.
    """

    index: int
    kind: str
    subclass: str = ""
    truth: Mapping[str, float] = field(default_factory=dict)
    background: Background | None = None


@dataclass
class Outcome:
    """What one job produced.

    Parameters
    ----------
    image : ndarray of shape (size, size, 3), uint8
        The cutout the classifier sees.
    features : ndarray of shape (19,), float64
        The catalogue features measured on the candidate.
    preselected : float
        1.0 if the features pass the preselection, 0.0 if not, NaN when they cannot be
        measured (a background without the i band).
    truth : dict of str to float
        The LSBG's parameters (:data:`TRUTH_COLUMNS`; empty for other kinds).
    """

    image: np.ndarray
    features: np.ndarray
    preselected: float
    truth: dict[str, float]


def inject_lsbg(
    bands: Mapping[str, np.ndarray],
    params: Mapping[str, float],
    rng: np.random.Generator,
    survey: Survey | str,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Add an LSBG with the given truth to native-scale band images.

    Parameters
    ----------
    bands : mapping of str to ndarray of shape (n, n)
        Band images in nanomaggies per native pixel, target at the centre.
    params : mapping of str to float
        Truth of the LSBG, as :func:`deepshadows.simulate.lsbg.sample_lsbg` returns it.
    rng : numpy.random.Generator
        Draws the PSF (the survey's seeing distribution) and the knots.
    survey : Survey or str
        Native pixel scale and seeing.

    Returns
    -------
    bands : dict of str to ndarray of shape (n, n), float32
        The images with the LSBG added.
    injected : dict of str to float
        ``injected_flux_<band>``: the flux added in each band, nanomaggies (the model's sum over
        the cutout), and ``psf_fwhm_<band>``.

    Raises
    ------
    deepshadows.errors.InputError
        If the images are not square or differ in shape.
    """
    survey = get_survey(survey)
    shapes = {np.shape(image) for image in bands.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or len(set(next(iter(shapes)))) != 1:
        raise InputError(f"bands: injection needs square images of one shape, got {sorted(shapes)}")
    psfs = draw_psfs(rng, survey)
    scene = Scene(next(iter(shapes))[0], survey.native_scale, psfs)
    draw_lsbg(scene, dict(params), rng, survey)
    model = scene.render()
    out = {b: np.add(image, model[BANDS.index(b)], dtype=np.float32) for b, image in bands.items()}
    injected = {f"injected_flux_{b}": float(model[BANDS.index(b)].sum(dtype=np.float64)) for b in bands}
    injected |= {f"psf_fwhm_{b}": psf.fwhm for b, psf in zip(BANDS, psfs, strict=True)}
    return out, injected


def _lsbg_truth(truth: Mapping[str, float]) -> dict[str, float]:
    return {name: float(truth.get(name, np.nan)) for name in TRUTH_COLUMNS}


def _simulated(job: Job, seed: int, spec: CutoutSpec) -> Outcome:
    spec = dataclasses.replace(
        spec, kind=job.kind, subclass=job.subclass, lsbg_truth=dict(job.truth) if job.truth else None
    )
    result = simulate_cutout(spec, object_seed(seed, job.index))
    truth = _lsbg_truth(result.truth) if job.kind == "lsbg" else {}
    return Outcome(result.image, result.features, float(result.truth["preselected"]), truth)


def _into_real(job: Job, seed: int, spec: CutoutSpec) -> Outcome:
    assert job.background is not None
    survey = get_survey(spec.survey)
    rng = np.random.default_rng(object_seed(seed, job.index))
    bands = read_background(job.background)
    truth: dict[str, float] = {}
    if job.kind == "lsbg":
        params = sample_lsbg(rng, spec.lsbg_priors, fixed=job.truth)
        bands, injected = inject_lsbg(bands, params, rng, survey)
        truth = _lsbg_truth(params | injected)
    features, _ = measure_band_features(bands, survey=survey)
    preselected = float(passes_preselection(features)) if "i" in bands else float("nan")
    image = bands_to_cutout(bands, survey=survey, resize=spec.resize, size=spec.image_size)  # type: ignore[arg-type]
    return Outcome(image, features, preselected, truth)


def run_job(job: Job, seed: int, spec: CutoutSpec) -> Outcome:
    """Simulate or inject one object.

    Parameters
    ----------
    job : Job
        What to do.
    seed : int
        Seed of the run.
    spec : CutoutSpec
        Survey, resize filter and cutout size (``preselect`` off: every injection is kept).

    Returns
    -------
    Outcome
    """
    if job.background is None:
        return _simulated(job, seed, spec)
    return _into_real(job, seed, spec)


def run_jobs(task: tuple[Sequence[Job], int, CutoutSpec]) -> list[Outcome]:
    """Run several jobs in one worker task, on one thread (the work of a process or Dask worker).

    Parameters
    ----------
    task : tuple
        ``(jobs, seed, spec)``, as for :func:`run_job`.

    Returns
    -------
    list of Outcome
        In the order of the jobs.
    """
    from threadpoolctl import threadpool_limits

    jobs, seed, spec = task
    with threadpool_limits(1):
        return [run_job(job, seed, spec) for job in jobs]
