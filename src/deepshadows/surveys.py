"""Survey definitions: pixel scales, PSFs, noise and the viewer's colour mapping.

Numbers follow the project's science specification (DES DR1 and HSC-SSP Wide as served by the
Legacy Survey viewer at zoom 15). Every value is a field of a frozen dataclass so that a user
can build a variant with :func:`dataclasses.replace` instead of editing code.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

from deepshadows.errors import InputError

__all__ = [
    "BANDS",
    "RGB_BANDS",
    "Survey",
    "DES",
    "HSC",
    "LS_DR9",
    "LS_DR10",
    "SURVEYS",
    "correlation_kernel",
    "get_survey",
    "pixel_sigma_factor",
]

#: Bands rendered for every cutout (the i band feeds the SourceExtractor-style features only).
BANDS: tuple[str, ...] = ("g", "r", "i", "z")
#: Bands the viewer maps to the (R, G, B) channels, in that order: z -> R, r -> G, g -> B.
RGB_BANDS: tuple[str, ...] = ("z", "r", "g")


@functools.lru_cache(maxsize=16)
def correlation_kernel(sigma_px: float) -> np.ndarray:
    """Return the 3-tap, unit-sum, sampled Gaussian kernel of width ``sigma_px`` pixels (1-D)."""
    if sigma_px <= 0:
        return np.array([0.0, 1.0, 0.0])
    side = np.exp(-0.5 / sigma_px**2)
    kernel = np.array([side, 1.0, side])
    return kernel / kernel.sum()


def pixel_sigma_factor(sigma_px: float) -> float:
    """Per-pixel noise of correlated noise in units of the white-noise-equivalent sigma.

    Parameters
    ----------
    sigma_px : float
        Width in pixels of the correlating Gaussian, as in :func:`add_noise` (0: white noise).

    Returns
    -------
    float
        ``sum(kernel**2)`` of the separable 3 x 3 kernel: 1 for white noise, below 1 otherwise.
        Multiply a survey's ``noise_sigma`` by it to get the per-pixel standard deviation.
    """
    kernel = correlation_kernel(sigma_px)
    return float((kernel**2).sum())  # 2-D separable: sqrt((sum k^2)^2)


@dataclass(frozen=True)
class Survey:
    """Imaging properties of one survey layer.

    Parameters
    ----------
    name : str
        Short name (``"des"``, ``"hsc"``).
    layer : str
        Legacy Survey viewer layer name.
    native_scale : float
        Pixel scale of the coadd images, arcsec per pixel.
    viewer_scale : float
        Output pixel scale of a zoom-15 viewer cutout, arcsec per pixel.
    cutout_size : int
        Side of the viewer cutout in pixels (256).
    psf_fwhm : dict
        Median PSF FWHM per band, arcsec.
    psf_fwhm_scatter : float
        Standard deviation of the per-cutout seeing, arcsec.
    psf_fwhm_range : tuple of float
        Clipping range of the per-cutout seeing, arcsec.
    noise_sigma : dict
        White-noise standard deviation per native pixel and band, nanomaggies.
    rgb_scale : dict
        The viewer's per-band multiplier ``s_b`` of the asinh stretch.
    field_mag_limit : float
        Faintest r magnitude of the field-galaxy population rendered.
    stamp_arcsec : float
        Side of the native-scale stamp that is rendered (larger than the field of view so that
        sources just outside still add light).
    noise_correlation : float
        Width in native pixels of the Gaussian that correlates the coadd noise of neighbouring
        pixels (the aperture depth is kept; the per-pixel scatter drops). Default 0: white noise.
    rgb_offset : float, optional
        The additive offset ``m`` of the viewer's asinh stretch (default 0.03).
    rgb_q : float, optional
        Stretch parameter ``Q`` of the asinh stretch (default 20, as the viewer fixes it).
    notes : dict of str to str, optional
        Free-text remarks on where the numbers come from (e.g. ``"depth"``); informational only.
    resize : str, optional
        Default filter of the final 256 -> 64 resize for cutouts that imitate this layer
        (``"nearest"`` for the DeepShadows paper's DES and HSC cutouts, ``"lanczos"`` for the
        Legacy Survey searches that resize with Pillow's LANCZOS).
    """

    name: str
    layer: str
    native_scale: float
    viewer_scale: float
    cutout_size: int
    psf_fwhm: dict[str, float]
    psf_fwhm_scatter: float
    psf_fwhm_range: tuple[float, float]
    noise_sigma: dict[str, float]
    rgb_scale: dict[str, float]
    field_mag_limit: float
    stamp_arcsec: float
    noise_correlation: float = 0.0
    rgb_offset: float = 0.03
    rgb_q: float = 20.0
    notes: dict[str, str] = field(default_factory=dict)
    resize: str = "nearest"

    @property
    def field_of_view(self) -> float:
        """Side of the viewer cutout in arcsec (256 x viewer scale)."""
        return self.cutout_size * self.viewer_scale

    @property
    def stamp_pixels(self) -> int:
        """Side of the rendered native-scale stamp in pixels (even)."""
        n = int(round(self.stamp_arcsec / self.native_scale))
        return n + (n % 2)

    def pixel_noise(self) -> dict[str, float]:
        """Per-pixel standard deviation of the (correlated) sky noise per band, nanomaggies."""
        factor = pixel_sigma_factor(self.noise_correlation)
        return {band: sigma * factor for band, sigma in self.noise_sigma.items()}

    def to_dict(self) -> dict[str, object]:
        """Return the survey as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


DES = Survey(
    name="des",
    layer="des-dr1",
    native_scale=0.263,
    viewer_scale=0.131,
    cutout_size=256,
    psf_fwhm={"g": 1.12, "r": 0.96, "i": 0.88, "z": 0.84},
    psf_fwhm_scatter=0.10,
    psf_fwhm_range=(0.7, 1.6),
    noise_sigma={"g": 0.00282, "r": 0.00355, "i": 0.00640, "z": 0.01278},
    rgb_scale={"g": 6.0, "r": 3.4, "i": 3.0, "z": 2.2},
    field_mag_limit=25.0,
    stamp_arcsec=42.0,
    noise_correlation=0.38,
    notes={"depth": "DES DR1 median depth, white-noise equivalent of the 1.95-arcsec aperture depths"},
)

HSC = Survey(
    name="hsc",
    layer="hsc2",
    native_scale=0.168,
    viewer_scale=0.084,
    cutout_size=256,
    psf_fwhm={"g": 0.75, "r": 0.70, "i": 0.60, "z": 0.65},
    psf_fwhm_scatter=0.07,
    psf_fwhm_range=(0.45, 1.1),
    noise_sigma={"g": 0.000476, "r": 0.000688, "i": 0.000827, "z": 0.001729},
    rgb_scale={"g": 30.0, "r": 17.0, "i": 15.0, "z": 11.0},
    field_mag_limit=26.5,
    stamp_arcsec=28.0,
    noise_correlation=0.38,
    notes={"depth": "HSC-SSP Wide design depths (5 sigma, 2-arcsec apertures)"},
)

#: Legacy Survey DR10 (south) at zoom 15: DECam imaging of the DES footprint and beyond, reduced by
#: legacypipe (0.262" pixels, the viewer's grz colours as for DES). Its coadds reach about twice the
#: DES DR1 depth: the background noise of real ls-dr9 cutouts is about half that of des-dr1 ones
#: (science specification, section 7b), so the DES per-pixel noise is halved. Seeing: DECam, as DES.
LS_DR10 = dataclasses.replace(
    DES,
    name="ls-dr10",
    layer="ls-dr10",
    native_scale=0.262,
    noise_sigma={band: 0.5 * sigma for band, sigma in DES.noise_sigma.items()},
    field_mag_limit=25.5,
    resize="lanczos",
    notes={
        "depth": "half the DES DR1 white-noise level, from the background noise of real ls-dr9 cutouts",
        "seeing": "DECam, as DES DR1",
    },
)

#: Legacy Survey DR9 (south): the same imaging and pipeline as DR10 in the DES footprint, without the
#: i band in the viewer (the simulator still renders i for the catalogue features).
LS_DR9 = dataclasses.replace(LS_DR10, name="ls-dr9", layer="ls-dr9")

SURVEYS: dict[str, Survey] = {"des": DES, "hsc": HSC, "ls-dr9": LS_DR9, "ls-dr10": LS_DR10}


def get_survey(name: str | Survey) -> Survey:
    """Return the survey called ``name`` (a key of :data:`SURVEYS`), or ``name`` if it is one.

    Parameters
    ----------
    name : str or Survey
        Survey name (case-insensitive), or a :class:`Survey`, returned as it is.

    Returns
    -------
    Survey
        The survey's definition (:data:`DES`, :data:`HSC`, :data:`LS_DR9` or :data:`LS_DR10`).

    Raises
    ------
    deepshadows.errors.InputError
        If the name is unknown.
    """
    if isinstance(name, Survey):
        return name
    try:
        return SURVEYS[name.lower()]
    except KeyError:
        raise InputError(f"--survey: unknown survey {name!r}; choose from {sorted(SURVEYS)}") from None
