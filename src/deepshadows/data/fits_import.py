"""Import of FITS cutouts: float bands through the viewer pipeline, and their 19 features.

FITS cutouts (float band images in nanomaggies, see :mod:`deepshadows.data.fits` for the
layouts and their naming convention) go through the viewer's float -> uint8 pipeline
(:func:`deepshadows.viewer.bands_to_cutout`), which cuts the viewer's field in arcseconds at
the cutout's own pixel scale (from the header's WCS, the caller, or the survey's native scale),
and their 19 SourceExtractor-style features are measured from the float bands resampled to the
survey's native scale, as for simulated cutouts.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows.data.fits import (
    FitsBands,
    FitsObject,
    measure_band_features,
    min_cutout_pixels,
    read_fits_source,
    resample_to_native,
)
from deepshadows.data.images import _check_resize
from deepshadows.data.writing import _import_cutouts
from deepshadows.errors import InputError
from deepshadows.store.splits import check_split_fractions
from deepshadows.surveys import RGB_BANDS, get_survey
from deepshadows.viewer import bands_to_cutout

__all__ = [
    "check_pixel_scale",
    "import_fits",
    "read_fits_bands_checked",
    "read_fits_checked",
    "read_fits_cutout",
]

_Source = FitsObject | str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]]


def check_pixel_scale(pixel_scale: float | None) -> float | None:
    """Check a pixel scale given by the user (``--pixel-scale``).

    Parameters
    ----------
    pixel_scale : float or None
        Arcsec per pixel, or None (read the header).

    Returns
    -------
    float or None
        The scale as a float.

    Raises
    ------
    deepshadows.errors.InputError
        If it is not a positive finite number.
    """
    if pixel_scale is None:
        return None
    scale = float(pixel_scale)
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"--pixel-scale: must be a positive number of arcsec per pixel, got {pixel_scale}")
    return scale


def read_fits_checked(source: _Source, *, survey: str, pixel_scale: float | None = None) -> FitsBands:
    """Read one FITS cutout, settle its pixel scale and check it covers the viewer's field.

    Parameters
    ----------
    source : FitsObject, path-like or mapping of band to path-like
        As for :func:`read_fits_cutout`.
    survey : str
        Survey whose viewer field of view must be covered (and whose native pixel scale applies
        when neither ``pixel_scale`` nor the header gives one).
    pixel_scale : float, optional
        Pixel scale in arcsec, overriding the header's WCS.

    Returns
    -------
    FitsBands
        The g, r, z (and i) images, with ``pixel_scale`` set: the given one, else the header's,
        else the survey's native scale; ``ra``, ``dec`` from the header's WCS (NaN without one).

    Raises
    ------
    deepshadows.errors.InputError
        If the FITS data are unreadable, of the wrong shape or units, lack g, r or z, hold NaNs,
        have bands that cannot be told apart, or span less than the survey's viewer field at
        their pixel scale; the message names the file or the id.
    """
    read = read_fits_source(source, required=RGB_BANDS)
    spec = get_survey(survey)
    given = check_pixel_scale(pixel_scale)
    scale = given or read.pixel_scale or spec.native_scale
    side = min(next(iter(read.bands.values())).shape)
    need = min_cutout_pixels(spec, scale)
    if side < need:
        name = read.name
        if isinstance(source, FitsObject) and source.cube is None:
            name = f"{read.name} ({', '.join(p.name for p in source.files)})"
        origin = "given" if given else ("from the header's WCS" if read.pixel_scale else "native")
        raise InputError(
            f"{name}: band images are {side} pixels on a side, too small for the {spec.name} viewer cutout: "
            f"{side} x {scale:.4g} arcsec ({origin} pixel scale) = {side * scale:.1f} arcsec, and its "
            f"{spec.field_of_view:.1f} arcsec need at least {need} pixels at that scale"
        )
    return dataclasses.replace(read, pixel_scale=scale)


def read_fits_bands_checked(
    source: _Source, *, survey: str, pixel_scale: float | None = None
) -> dict[str, np.ndarray]:
    """Read the g, r and z bands of one FITS cutout and check they cover the viewer's field.

    Parameters
    ----------
    source : FitsObject, path-like or mapping of band to path-like
        As for :func:`read_fits_cutout`.
    survey : str
        Survey whose viewer field of view must be covered.
    pixel_scale : float, optional
        Pixel scale in arcsec, overriding the header's WCS (see :func:`read_fits_checked`).

    Returns
    -------
    dict of str to ndarray
        The band images, float, keyed by band.

    Raises
    ------
    deepshadows.errors.InputError
        As for :func:`read_fits_checked`.
    """
    return read_fits_checked(source, survey=survey, pixel_scale=pixel_scale).bands


def read_fits_cutout(
    source: _Source,
    *,
    survey: str,
    image_size: int = 64,
    resize: str = "nearest",
    subtract_background: bool = False,
    pixel_scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Read one FITS cutout and turn it into a stored cutout and its features.

    The viewer's field is cut in arcseconds at the cutout's pixel scale; the features are
    measured on the bands resampled to the survey's native scale
    (:func:`~deepshadows.data.fits_features.resample_to_native`).

    Parameters
    ----------
    source : FitsObject, path-like or mapping of band to path-like
        A cube or multi-extension file, one file per band, or an object found by
        :func:`deepshadows.data.fits.find_fits_objects`.
    survey : str
        Survey whose native pixel scale, noise and viewer colour scales apply.
    image_size : int, optional
        Side of the returned cutout.
    resize : {"nearest", "bicubic"}, optional
        Filter of the final resize of the 256-pixel viewer image.
    subtract_background : bool, optional
        Subtract a ``sep`` background before measuring the features.
    pixel_scale : float, optional
        Pixel scale in arcsec, overriding the header's WCS; without either, the survey's
        native scale.

    Returns
    -------
    image : ndarray of shape (image_size, image_size, 3), uint8
        The cutout as the viewer would serve it, resized.
    features : ndarray of shape (19,), float64
        See :func:`deepshadows.data.fits.measure_band_features`.
    flag : int
        The feature measurement's bitmask.

    Raises
    ------
    deepshadows.errors.InputError
        As for :func:`read_fits_checked`.
    """
    image, features, flag, _ = _read_row(
        source, survey, int(image_size), resize, subtract_background, pixel_scale
    )
    return image, features, flag


def _read_row(
    source: _Source,
    survey: str,
    image_size: int,
    resize: str,
    subtract_background: bool,
    pixel_scale: float | None,
) -> tuple[np.ndarray, np.ndarray, int, tuple[float, float]]:
    """Return a row's cutout, features, flag and (ra, dec) of its central pixel."""
    read = read_fits_checked(source, survey=survey, pixel_scale=pixel_scale)
    scale = float(read.pixel_scale)  # type: ignore[arg-type]
    image = bands_to_cutout(read.bands, survey=survey, native_scale=scale, resize=resize, size=image_size)  # type: ignore[arg-type]
    native = resample_to_native(read.bands, pixel_scale=scale, survey=survey)
    features, flag = measure_band_features(native, survey=survey, subtract_background=subtract_background)
    return image, features, flag, (read.ra, read.dec)


@fill_doc
def import_fits(
    sources: Sequence[FitsObject | str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]]],
    ids: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    out: str | os.PathLike[str],
    survey: str,
    kinds: Sequence[str] | None = None,
    subclasses: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    image_size: int = 64,
    resize: str = "nearest",
    subtract_background: bool = False,
    pixel_scale: float | None = None,
    overwrite: bool = False,
    seed: int = 0,
    split_fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    config: Mapping[str, Any] | None = None,
    truth: np.ndarray | None = None,
) -> Path:
    """Write a store, with its ``features`` table, from FITS cutouts.

    Each object's float bands (nanomaggies per native pixel of ``survey``, at the pixel scale of
    the header's WCS, of ``pixel_scale`` or else the native one) go through
    :func:`deepshadows.viewer.bands_to_cutout`, the pipeline of the simulated cutouts, and its
    19 features are measured from them at the native scale (see :func:`read_fits_cutout`). The
    store's ``truth`` table holds the ``ra`` and ``dec`` of each cutout's central pixel from
    the header's WCS (NaN without one), where position matching of labels finds them, and the
    columns of ``truth`` (a catalogue's; its own ra and dec, when it has them, win).

    Parameters
    ----------
    sources : sequence
        Per row: a cube file, a mapping of band to file, or a
        :class:`~deepshadows.data.fits.FitsObject`.
    ids : sequence of str
        Identifier per row.
    labels : sequence of int
        1 = LSBG, 0 = artifact, -1 = unknown, per row.
    %(import_out)s
    survey : {"des", "hsc"}
        Survey of the cutouts: native pixel scale, noise and viewer colour scales.
    kinds, subclasses, splits : sequence of str, optional
        As for :func:`import_images`.
    %(import_image_size)s
    resize : {"nearest", "bicubic"}, optional
        Filter of the final resize of the 256-pixel viewer image.
    subtract_background : bool, optional
        Subtract a ``sep`` background before measuring the features.
    pixel_scale : float, optional
        Pixel scale of every cutout in arcsec, overriding the headers (for files without WCS).
    overwrite, seed, split_fractions, config : optional
        As for :func:`import_images`.
    truth : ndarray, structured, optional
        Per-row catalogue columns to keep (as for :func:`import_images`).

    Returns
    -------
    pathlib.Path
        The store file. Nothing is left at ``out`` if a cutout cannot be read.

    Raises
    ------
    deepshadows.errors.InputError
        If a FITS file is unreadable, of the wrong shape or units, lacks g, r or z, holds NaNs,
        has bands that cannot be told apart or is too small for the viewer's field, an argument
        is invalid, or ``out`` exists and ``overwrite`` is false.
    """
    fractions = check_split_fractions(split_fractions)
    name = get_survey(survey).name
    _check_resize(resize, optional=False)
    if not 8 <= int(image_size) <= 256:
        raise InputError(f"--image-size: must lie in [8, 256] for FITS cutouts, got {image_size}")
    size = int(image_size)
    scale = check_pixel_scale(pixel_scale)
    return _import_cutouts(
        sources,
        ids,
        labels,
        read_row=lambda source: _read_row(source, name, size, resize, subtract_background, scale),
        with_features=True,
        with_positions=True,
        settings={
            "source": "import-fits",
            "survey": name,
            "image_size": size,
            "resize": resize,
            "subtract_background": bool(subtract_background),
            "pixel_scale": scale,
        },
        out=out,
        kinds=kinds,
        subclasses=subclasses,
        splits=splits,
        overwrite=overwrite,
        seed=seed,
        fractions=fractions,
        config=config,
        truth=truth,
    )
