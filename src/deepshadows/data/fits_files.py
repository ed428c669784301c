"""FITS file names: which files are read as FITS, and their grouping into objects.

A file ``<id>_<band>.<suffix>`` (band g, r, i or z) is one band of object ``<id>``; any other
``<id>.<suffix>`` is the cube of object ``<id>``. The layouts are described in
:mod:`deepshadows.data.fits`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepshadows.errors import InputError

__all__ = ["FITS_SUFFIXES", "FitsObject", "find_fits_objects", "fits_stem", "is_fits_file"]

#: File name endings read as FITS (case-insensitive).
FITS_SUFFIXES: tuple[str, ...] = (".fits", ".fit", ".fits.gz", ".fit.gz")
_BAND_FILE = re.compile(r"^(?P<id>.+)_(?P<band>[griz])$")


def is_fits_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file name ends in one of :data:`FITS_SUFFIXES` (case-insensitive).

    Parameters
    ----------
    path : path-like
        File name or path; only its text is looked at, the file need not exist.

    Returns
    -------
    bool
        True for a name ending in ``.fits``, ``.fit``, ``.fits.gz`` or ``.fit.gz``.
    """
    return str(path).lower().endswith(FITS_SUFFIXES)


def fits_stem(path: str | os.PathLike[str]) -> str:
    """Return a FITS file name without its suffix: ``a1.fits.gz`` -> ``a1``.

    Parameters
    ----------
    path : path-like
        FITS file; the folder part is dropped.

    Returns
    -------
    str
        The file name without the longest matching suffix of :data:`FITS_SUFFIXES`, or without
        its last suffix when none matches.
    """
    name = Path(path).name
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


class FitsObject:
    """The FITS file(s) of one object in a folder: a cube, or one file per band.

    Parameters
    ----------
    ident : str
        Object identifier (the file name without suffix, or without ``_<band>`` and suffix).
    cube : pathlib.Path, optional
        The cube file.
    band_files : mapping of str to pathlib.Path, optional
        Band to file, for one file per band.
    """

    def __init__(
        self, ident: str, *, cube: Path | None = None, band_files: Mapping[str, Path] | None = None
    ) -> None:
        self.ident = ident
        self.cube = cube
        self.band_files = dict(band_files or {})

    @property
    def files(self) -> list[Path]:
        """Every file of the object."""
        return [self.cube] if self.cube is not None else list(self.band_files.values())

    def __repr__(self) -> str:
        what = self.cube.name if self.cube is not None else ", ".join(p.name for p in self.files)
        return f"FitsObject({self.ident!r}: {what})"


def find_fits_objects(paths: Sequence[str | os.PathLike[str]]) -> dict[str, FitsObject]:
    """Group FITS files into objects by the naming convention.

    ``<id>_<band>.<suffix>`` with band g, r, i or z is one band of object ``<id>``; any other
    ``<id>.<suffix>`` is the cube of object ``<id>``.

    Parameters
    ----------
    paths : sequence of path-like
        FITS files.

    Returns
    -------
    dict of str to FitsObject
        Identifier to its files, in the order the identifiers first appear.

    Raises
    ------
    deepshadows.errors.InputError
        If an identifier has both a cube and band files, or two files for the same band.
    """
    objects: dict[str, FitsObject] = {}
    for raw in paths:
        path = Path(raw)
        stem = fits_stem(path)
        match = _BAND_FILE.match(stem)
        ident = match.group("id") if match else stem
        obj = objects.setdefault(ident, FitsObject(ident))
        if match:
            band = match.group("band")
            if band in obj.band_files:
                raise InputError(
                    f"{path}: band {band} of id {ident!r} is also in {obj.band_files[band].name}"
                )
            obj.band_files[band] = path
        else:
            if obj.cube is not None:
                raise InputError(f"{path}: id {ident!r} is also the name of {obj.cube.name}")
            obj.cube = path
        if obj.cube is not None and obj.band_files:
            others = ", ".join(p.name for p in obj.band_files.values())
            raise InputError(
                f"{path}: id {ident!r} has both a cube ({obj.cube.name}) and band files ({others}); keep one"
            )
    return objects
