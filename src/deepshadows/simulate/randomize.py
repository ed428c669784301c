"""Domain randomisation: the imaging and rendering conditions of each simulated cutout.

Real candidates reach a classifier through many imaging and rendering chains: coadds of
different depth and seeing (DES DR1, Legacy Survey DR9/DR10), residual sky levels, colour scales,
cutouts of 30-40 arcsec rather than the viewer's 33.5, resized with nearest, bicubic or LANCZOS
filters and sometimes saved again as JPEG. A network trained on one fixed chain learns that chain.
Here every cutout draws its own :class:`Conditions` from the ranges of a :class:`Randomization`;
the draws come from a random stream of their own, so switching randomisation off
(``--randomize none``) leaves every other draw, hence the set, as it was.

The drawn values are part of each object's truth (columns ``rand_*``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from deepshadows.errors import InputError
from deepshadows.surveys import BANDS, RGB_BANDS, Survey

__all__ = [
    "RANDOMIZE_MODES",
    "Conditions",
    "Randomization",
    "condition_columns",
    "conditions_rng",
    "draw_conditions",
    "randomization_for",
]

#: Values of ``--randomize``: ``default`` (per-cutout conditions, the default) or ``none``.
RANDOMIZE_MODES: tuple[str, ...] = ("default", "none")

#: Range of the noise multiplier per survey (log-uniform), relative to the survey's own noise:
#: from Legacy Survey DR10 depth (half the DES DR1 noise, a little deeper still) to somewhat
#: shallower than DES DR1.
_DEPTH_RANGES: dict[str, tuple[float, float]] = {
    "des": (0.35, 1.3),
    "ls-dr9": (0.7, 2.6),
    "ls-dr10": (0.7, 2.6),
    "hsc": (0.7, 1.6),
}

_RESIZE_CODES: dict[str, int] = {"nearest": 0, "bicubic": 1, "lanczos": 2}


@dataclass(frozen=True)
class Randomization:
    """Ranges from which each cutout's imaging and rendering conditions are drawn.

    Parameters
    ----------
    depth_range : tuple of float
        Range of the common noise multiplier (log-uniform), relative to the survey's noise.
    band_depth_jitter : float
        Standard deviation of an extra per-band log-normal noise factor.
    seeing_offset_range : tuple of float
        Range of an offset added to every band's median seeing, arcsec (uniform).
    sky_offset_sigma : float
        Standard deviation of a residual sky level per band, in units of that band's per-pixel
        noise.
    rgb_scale_range : tuple of float
        Range of a per-band factor on the viewer's colour multipliers ``s_b`` (log-uniform).
    display_gain_range : tuple of float
        Range of a factor common to the three colour multipliers (log-uniform): how bright the
        same sky is drawn. Legacy Survey DR9 cutouts of DES candidates show their LSBGs at about
        0.6-0.7 times the central excess and 0.8 times the background noise in display units
        of DES DR1 cutouts (science specification, section 7b).
    field_of_view_range : tuple of float
        Range of the cutout's field of view, arcsec (uniform).
    viewer_field_fraction : float
        Fraction of cutouts that keep the layer's own zoom-15 field of view (33.5 arcsec).
    resize_weights : dict of str to float
        Relative frequency of the 256 -> 64 resize filters.
    recompress_fraction : float
        Fraction of cutouts saved once more as JPEG after the resize.
    recompress_quality_range : tuple of int
        Range of the quality of that JPEG (uniform integers, inclusive).
    """

    depth_range: tuple[float, float] = (0.35, 1.3)
    band_depth_jitter: float = 0.15
    seeing_offset_range: tuple[float, float] = (-0.15, 0.35)
    sky_offset_sigma: float = 0.1
    rgb_scale_range: tuple[float, float] = (0.8, 1.25)
    display_gain_range: tuple[float, float] = (0.55, 1.2)
    field_of_view_range: tuple[float, float] = (30.0, 40.0)
    viewer_field_fraction: float = 0.3
    resize_weights: dict[str, float] = field(
        default_factory=lambda: {"nearest": 1.0, "bicubic": 1.0, "lanczos": 1.0}
    )
    recompress_fraction: float = 0.5
    recompress_quality_range: tuple[int, int] = (70, 95)

    def to_dict(self) -> dict[str, object]:
        """Return the ranges as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


def _check_randomize_mode(mode: str) -> None:
    """Raise :class:`~deepshadows.errors.InputError` unless ``mode`` is a value of ``--randomize``."""
    if mode not in RANDOMIZE_MODES:
        raise InputError(f"--randomize: unknown mode {mode!r}; choose from {list(RANDOMIZE_MODES)}")


def randomization_for(survey: Survey, mode: str, resize: str | None = None) -> Randomization | None:
    """Return the randomisation of ``mode`` for a survey, or None when it is off.

    Parameters
    ----------
    survey : Survey
        The survey imitated; sets the depth range.
    mode : {"default", "none"}
        Value of ``--randomize``.
    resize : str, optional
        A resize filter chosen by the user: every cutout then uses it instead of a drawn one.

    Returns
    -------
    Randomization or None
        The default ranges with the survey's depth range (and ``resize`` as the only filter,
        when given); None for ``none``.

    Raises
    ------
    deepshadows.errors.InputError
        If the mode is unknown.
    """
    _check_randomize_mode(mode)
    if mode == "none":
        return None
    depth = _DEPTH_RANGES.get(survey.name, Randomization().depth_range)
    weights = {resize: 1.0} if resize else Randomization().resize_weights
    return Randomization(depth_range=depth, resize_weights=weights)


@dataclass(frozen=True)
class Conditions:
    """The imaging and rendering conditions of one cutout.

    Parameters
    ----------
    noise_factor : tuple of float
        Multiplier of the survey's noise per band (g, r, i, z).
    seeing_offset : float
        Offset added to the median seeing of every band, arcsec.
    sky_offset : tuple of float
        Residual sky level per band (g, r, i, z), nanomaggies per native pixel.
    rgb_factor : tuple of float
        Factor on the viewer's colour multiplier per RGB band (z, r, g).
    field_of_view : float
        Side of the cutout, arcsec.
    resize : str
        Filter of the final resize.
    recompress_quality : int
        Quality of a JPEG saved after the resize; 0 for none.
    """

    noise_factor: tuple[float, ...]
    seeing_offset: float
    sky_offset: tuple[float, ...]
    rgb_factor: tuple[float, ...]
    field_of_view: float
    resize: str
    recompress_quality: int

    def apply_to(self, survey: Survey, *, max_offset_arcsec: float = 3.0) -> Survey:
        """Return the survey as this cutout sees it: noise, seeing, colours and field of view.

        The rendered stamp grows when the field of view needs it, so that the re-centring shift
        (at most ``max_offset_arcsec``) never shows the stamp's edge.
        """
        low, high = survey.psf_fwhm_range
        return dataclasses.replace(
            survey,
            noise_sigma={
                band: survey.noise_sigma[band] * f for band, f in zip(BANDS, self.noise_factor, strict=True)
            },
            psf_fwhm={band: fwhm + self.seeing_offset for band, fwhm in survey.psf_fwhm.items()},
            psf_fwhm_range=(low + min(self.seeing_offset, 0.0), high + max(self.seeing_offset, 0.0)),
            rgb_scale=survey.rgb_scale
            | {band: survey.rgb_scale[band] * f for band, f in zip(RGB_BANDS, self.rgb_factor, strict=True)},
            viewer_scale=self.field_of_view / survey.cutout_size,
            stamp_arcsec=max(survey.stamp_arcsec, self.field_of_view + 2.0 * max_offset_arcsec + 1.0),
        )

    def add_sky(self, bands: np.ndarray) -> np.ndarray:
        """Return ``bands`` (g, r, i, z) with the residual sky levels added."""
        return bands + np.asarray(self.sky_offset, dtype=bands.dtype)[:, None, None]

    def truth(self) -> dict[str, float]:
        """Return the conditions as truth columns (``rand_*``)."""
        out = {f"rand_noise_{band}": f for band, f in zip(BANDS, self.noise_factor, strict=True)}
        out |= {f"rand_sky_{band}": s for band, s in zip(BANDS, self.sky_offset, strict=True)}
        out |= {f"rand_rgb_{band}": f for band, f in zip(RGB_BANDS, self.rgb_factor, strict=True)}
        out |= {
            "rand_seeing_offset": self.seeing_offset,
            "rand_field_of_view": self.field_of_view,
            "rand_resize": float(_RESIZE_CODES[self.resize]),
            "rand_recompress_quality": float(self.recompress_quality),
        }
        return {key: float(value) for key, value in out.items()}


def condition_columns() -> tuple[str, ...]:
    """Names of the truth columns that :meth:`Conditions.truth` fills.

    Returns
    -------
    tuple of str
        Column names, all starting with ``rand_``.
    """
    sample = Conditions((1.0,) * 4, 0.0, (0.0,) * 4, (1.0,) * 3, 33.5, "nearest", 0)
    return tuple(sample.truth())


def conditions_rng(seed: np.random.SeedSequence | int) -> np.random.Generator:
    """Return the random stream of an object's conditions, independent of its other draws.

    Parameters
    ----------
    seed : numpy.random.SeedSequence or int
        The object's own seed.

    Returns
    -------
    numpy.random.Generator
    """
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.default_rng(
        np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, 0x5EED))
    )


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int | None = None) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def draw_conditions(rng: np.random.Generator, survey: Survey, randomization: Randomization) -> Conditions:
    """Draw one cutout's conditions.

    Parameters
    ----------
    rng : numpy.random.Generator
        The object's conditions stream (:func:`conditions_rng`).
    survey : Survey
        The survey imitated (its noise sets the scale of the sky offsets).
    randomization : Randomization
        The ranges.

    Returns
    -------
    Conditions
    """
    r = randomization
    common = float(_log_uniform(rng, *r.depth_range))
    noise = common * np.exp(rng.normal(0.0, r.band_depth_jitter, len(BANDS)))
    sigma = np.array([survey.noise_sigma[band] for band in BANDS]) * noise
    sky = rng.normal(0.0, r.sky_offset_sigma, len(BANDS)) * sigma
    rgb = _log_uniform(rng, *r.rgb_scale_range, size=len(RGB_BANDS))
    if rng.random() < r.viewer_field_fraction:
        fov = survey.field_of_view
    else:
        fov = float(rng.uniform(*r.field_of_view_range))
    names = sorted(r.resize_weights)
    weights = np.array([r.resize_weights[name] for name in names], dtype=float)
    resize = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    quality = 0
    if rng.random() < r.recompress_fraction:
        quality = int(rng.integers(r.recompress_quality_range[0], r.recompress_quality_range[1] + 1))
    rgb = rgb * float(_log_uniform(rng, *r.display_gain_range))
    return Conditions(
        noise_factor=tuple(float(v) for v in noise),
        seeing_offset=float(rng.uniform(*r.seeing_offset_range)),
        sky_offset=tuple(float(v) for v in sky),
        rgb_factor=tuple(float(v) for v in rgb),
        field_of_view=fov,
        resize=resize,
        recompress_quality=quality,
    )
