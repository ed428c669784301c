"""Real cutouts to inject into: FITS band images that ``fetch --fits`` kept, or a folder of FITS files.

Two sources are read, both native-scale band images in nanomaggies, as the viewer's
``fits-cutout`` serves them:

a fetched store
    A store written by ``deepshadows fetch --fits`` (or ``--from-fits``). The FITS responses
    stay in the fetch's response cache (``<out>.fetch.json`` names the folder); each stored
    row's cube is found there from its catalogue position and the fetch's settings, exactly as
    the fetch asked for it.
a folder
    FITS cutouts named as ``deepshadows import`` reads them (one cube per object, or one file
    per band; see :mod:`deepshadows.data.fits`), searched recursively.

Only references travel to the worker processes; each injection reads its background itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepshadows._io import read_json
from deepshadows.data.fits import (
    FitsObject,
    find_fits_objects,
    is_fits_file,
    read_fits_cube,
    read_fits_object,
)
from deepshadows.errors import InputError
from deepshadows.store.reader import open_store
from deepshadows.surveys import RGB_BANDS, get_survey

__all__ = ["Background", "find_backgrounds", "read_background"]


@dataclass(frozen=True)
class Background:
    """Where the bands of one real cutout are.

    Parameters
    ----------
    ident : str
        The object's identifier (the store's id, or the file name without suffix).
    fits : FitsObject, optional
        The FITS file(s) of a folder.
    cached : str, optional
        The cached response (a FITS cube) of a fetch.
    bands : str, optional
        Bands the fetch asked for, in plane order (for a cached cube).
    """

    ident: str
    fits: FitsObject | None = None
    cached: str | None = None
    bands: str = "grz"


def read_background(background: Background) -> dict[str, np.ndarray]:
    """Read the band images of one background.

    Parameters
    ----------
    background : Background
        From :func:`find_backgrounds`.

    Returns
    -------
    dict of str to ndarray of shape (H, W), float32
        Band name to image, nanomaggies per native pixel; at least g, r and z.

    Raises
    ------
    deepshadows.errors.InputError
        If a file is missing or unreadable (the message names it).
    """
    if background.fits is not None:
        return read_fits_object(background.fits)
    assert background.cached is not None
    path = Path(background.cached)
    if not path.is_file():
        raise InputError(
            f"{path}: the cached FITS cutout of id {background.ident!r} is missing; "
            "fetch again with --fits and keep the cache"
        )
    return read_fits_cube(path, bands=tuple(background.bands), name=f"{path} (id {background.ident!r})")


def _from_folder(folder: Path) -> list[Background]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_fits_file(p))
    return [Background(ident, fits=obj) for ident, obj in find_fits_objects(files).items()]


def _from_store(store_path: Path, survey: str) -> list[Background]:
    from deepshadows.fetch.cutouts import CutoutConfig, fits_url
    from deepshadows.fetch.http import ResponseCache
    from deepshadows.fetch.output import report_path

    report = report_path(store_path)
    if not report.is_file():
        raise InputError(
            f"--into: {store_path} has no {report.name} beside it; give a store written by "
            "`deepshadows fetch --fits` or a folder of FITS cutouts"
        )
    record = read_json(report, "fetch report")
    config = record.get("config") or {}
    if not config.get("fits"):
        raise InputError(f"--into: {store_path} was fetched without --fits; fetch it again with --fits")
    if record.get("cache") is None:
        raise InputError(f"--into: {store_path} was fetched without a response cache (--no-cache)")
    if config.get("survey") != survey:
        raise InputError(f"--into: {store_path} holds {config.get('survey')} cutouts, not {survey}")
    cutouts = CutoutConfig(
        layer=config["layer"], fits=True, bands=config["bands"], base_url=config["base_url"]
    )
    cache = ResponseCache(record["cache"])
    with open_store(store_path) as store:
        ids = store.ids
        truth = store.truth_table()
    if "ra" not in truth.colnames or "dec" not in truth.colnames:
        raise InputError(f"--into: {store_path} has no ra, dec columns in its truth table")
    return [
        Background(
            str(ident),
            cached=str(cache.path(fits_url(cutouts, float(ra), float(dec)))),
            bands=cutouts.bands,
        )
        for ident, ra, dec in zip(ids, truth["ra"], truth["dec"], strict=True)
    ]


def find_backgrounds(into: str | os.PathLike[str], survey: str) -> list[Background]:
    """List the real cutouts of a fetched store or a folder of FITS files.

    Parameters
    ----------
    into : path-like
        A store written by ``deepshadows fetch --fits`` or a folder of FITS cutouts.
    survey : str
        Survey the cutouts must come from (checked for a fetched store).

    Returns
    -------
    list of Background
        One per object, in store or file-name order.

    Raises
    ------
    deepshadows.errors.InputError
        If ``into`` does not exist, holds no cutout, or is a store fetched without FITS, without
        a cache or from another survey.
    """
    path = Path(into)
    survey = get_survey(survey).name
    if path.is_dir():
        found = _from_folder(path)
    elif path.is_file():
        found = _from_store(path, survey)
    else:
        raise InputError(f"--into: {path} does not exist")
    if not found:
        raise InputError(f"--into: {path} holds no FITS cutout with the bands {', '.join(RGB_BANDS)}")
    return found
