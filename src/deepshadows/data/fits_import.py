"""Import of FITS cutouts: float bands through the viewer pipeline, and their 19 features.

FITS cutouts (float band images in nanomaggies, see :mod:`deepshadows.data.fits` for the two
layouts and their naming convention) go through the viewer's float -> uint8 pipeline
(:func:`deepshadows.viewer.bands_to_cutout`), and their 19 SourceExtractor-style features are
measured from the float bands, as for simulated cutouts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.data.fits import (
    FitsObject,
    measure_band_features,
    min_cutout_pixels,
    read_fits_bands,
    read_fits_cube,
    read_fits_object,
)
from deepshadows.data.images import _check_resize
from deepshadows.data.writing import _import_cutouts
from deepshadows.errors import InputError
from deepshadows.store.splits import check_split_fractions
from deepshadows.surveys import RGB_BANDS, get_survey
from deepshadows.viewer import bands_to_cutout

__all__ = ["import_fits", "read_fits_bands_checked", "read_fits_cutout"]


def read_fits_bands_checked(
    source: FitsObject | str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]], *, survey: str
) -> dict[str, np.ndarray]:
    """Read the g, r and z bands of one FITS cutout and check they cover the viewer's field.

    Parameters
    ----------
    source : FitsObject, path-like or mapping of band to path-like
        As for :func:`read_fits_cutout`.
    survey : {"des", "hsc"}
        Survey whose native pixel scale sets the smallest usable side.

    Returns
    -------
    dict of str to ndarray
        The band images, float, keyed by band.

    Raises
    ------
    deepshadows.errors.InputError
        If the FITS data are unreadable, of the wrong shape, lack g, r or z, hold NaNs or are
        too small for the survey's viewer cutout; the message names the file or the id.
    """
    if isinstance(source, FitsObject):
        bands = read_fits_object(source, required=RGB_BANDS)
    elif isinstance(source, Mapping):
        bands = read_fits_bands(source, required=RGB_BANDS)
    else:
        bands = read_fits_cube(source, required=RGB_BANDS)
    side = min(next(iter(bands.values())).shape)
    need = min_cutout_pixels(survey)
    if side < need:
        if isinstance(source, FitsObject):
            where = str(source.cube) if source.cube is not None else f"id {source.ident!r}"
        elif isinstance(source, Mapping):
            where = str(next(iter(source.values())))
        else:
            where = str(source)
        raise InputError(
            f"{where}: band images are {side} pixels on a side, too small for the {survey} viewer cutout "
            f"({get_survey(survey).field_of_view:.1f} arcsec needs at least {need} native pixels)"
        )
    return bands


def read_fits_cutout(
    source: FitsObject | str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    *,
    survey: str,
    image_size: int = 64,
    resize: str = "nearest",
    subtract_background: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Read one FITS cutout and turn it into a stored cutout and its features.

    Parameters
    ----------
    source : FitsObject, path-like or mapping of band to path-like
        A cube file, one file per band, or an object found by
        :func:`deepshadows.data.fits.find_fits_objects`.
    survey : {"des", "hsc"}
        Survey whose native pixel scale and viewer colour scales apply.
    image_size : int, optional
        Side of the returned cutout.
    resize : {"nearest", "bicubic"}, optional
        Filter of the final resize of the 256-pixel viewer image.
    subtract_background : bool, optional
        Subtract a ``sep`` background before measuring the features.

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
        If the FITS data are unreadable, of the wrong shape, lack g, r or z, or hold NaNs.
    """
    bands = read_fits_bands_checked(source, survey=survey)
    image = bands_to_cutout(bands, survey=survey, resize=resize, size=int(image_size))  # type: ignore[arg-type]
    features, flag = measure_band_features(bands, survey=survey, subtract_background=subtract_background)
    return image, features, flag


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
    overwrite: bool = False,
    seed: int = 0,
    split_fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Write a store, with its ``features`` table, from FITS cutouts.

    Each object's float bands (nanomaggies per native pixel of ``survey``) go through
    :func:`deepshadows.viewer.bands_to_cutout`, the pipeline of the simulated cutouts, and its
    19 features are measured from them (see :func:`read_fits_cutout`).

    Parameters
    ----------
    sources : sequence
        Per row: a cube file, a mapping of band to file, or a
        :class:`~deepshadows.data.fits.FitsObject`.
    ids : sequence of str
        Identifier per row.
    labels : sequence of int
        1 = LSBG, 0 = artifact, -1 = unknown, per row.
    out : path-like
        Store file to write.
    survey : {"des", "hsc"}
        Survey of the cutouts: native pixel scale, noise and viewer colour scales.
    kinds, subclasses, splits : sequence of str, optional
        As for :func:`import_images`.
    image_size : int, optional
        Side of the stored cutouts in pixels.
    resize : {"nearest", "bicubic"}, optional
        Filter of the final resize of the 256-pixel viewer image.
    subtract_background : bool, optional
        Subtract a ``sep`` background before measuring the features.
    overwrite, seed, split_fractions, config : optional
        As for :func:`import_images`.

    Returns
    -------
    pathlib.Path
        The store file. Nothing is left at ``out`` if a cutout cannot be read.

    Raises
    ------
    deepshadows.errors.InputError
        If a FITS file is unreadable, of the wrong shape, lacks g, r or z or holds NaNs, an
        argument is invalid, or ``out`` exists and ``overwrite`` is false.
    """
    fractions = check_split_fractions(split_fractions)
    name = get_survey(survey).name
    _check_resize(resize, optional=False)
    if not 8 <= int(image_size) <= 256:
        raise InputError(f"--image-size: must lie in [8, 256] for FITS cutouts, got {image_size}")
    size = int(image_size)
    return _import_cutouts(
        sources,
        ids,
        labels,
        read_row=lambda source: read_fits_cutout(
            source, survey=name, image_size=size, resize=resize, subtract_background=subtract_background
        ),
        with_features=True,
        settings={
            "source": "import-fits",
            "survey": name,
            "image_size": size,
            "resize": resize,
            "subtract_background": bool(subtract_background),
        },
        out=out,
        kinds=kinds,
        subclasses=subclasses,
        splits=splits,
        overwrite=overwrite,
        seed=seed,
        fractions=fractions,
        config=config,
    )
