"""FITS files: which are FITS, their grouping into objects, opening them, and what their headers say.

A file ``<id>_<band>.<suffix>`` (band g, r, i or z) is one band of object ``<id>``; any other
``<id>.<suffix>`` is the cube (or multi-extension file) of object ``<id>``. The layouts are
described in :mod:`deepshadows.data.fits`. A header may declare the band of its image
(``FILTER``, ``BAND`` or ``EXTNAME``), its units (``BUNIT``) and, with a celestial WCS, its
pixel scale and the sky position of its central pixel.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning

from deepshadows.errors import InputError
from deepshadows.surveys import BANDS

__all__ = [
    "FITS_SUFFIXES",
    "FitsObject",
    "band_of_filter",
    "check_units",
    "find_fits_objects",
    "fits_stem",
    "header_band",
    "header_geometry",
    "is_fits_file",
]

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


#: ``BUNIT`` values read as nanomaggies (case-insensitive); a header without ``BUNIT`` is too.
NANOMAGGY_UNITS: tuple[str, ...] = ("nanomaggy", "nanomaggies", "nmgy")
#: Pixel scale (arcsec) and the ra, dec (degrees) of the central pixel; None without a celestial WCS.
_Geometry = tuple[float, float, float] | None
#: Header keys that may name the band of an image, in the order they are looked at.
BAND_KEYS: tuple[str, ...] = ("FILTER", "BAND", "EXTNAME")


def band_of_filter(value: object) -> str | None:
    """Return the band g, r, i or z that a filter name stands for, or None when it names none or several.

    A filter name is split into words at anything but letters and digits; the band is the one
    word that is a band letter, alone or followed by one digit: ``"g"``, ``"DECam g DECam SDSS
    c0001 4720.0 1520.0"``, ``"HSC-G"``, ``"HSC-R2"`` and ``"i.MP9702"`` all name a band.

    Parameters
    ----------
    value : object
        The header value (``FILTER``, ``BAND`` or ``EXTNAME``).

    Returns
    -------
    str or None
        The band, lower case.
    """
    words = re.split(r"[^a-z0-9]+", str(value).strip().lower())
    found = {word[0] for word in words if re.fullmatch(r"[griz][0-9]?", word)}
    return found.pop() if len(found) == 1 else None


def header_band(header: fits.Header, name: str, keys: Sequence[str] = BAND_KEYS) -> str | None:
    """Return the band an image header names by ``FILTER``, ``BAND`` or ``EXTNAME`` (the first present).

    Parameters
    ----------
    header : astropy.io.fits.Header
        The image's header.
    name : str
        What to call the image in error messages.
    keys : sequence of str, optional
        The keys looked at, in order (default :data:`BAND_KEYS`).

    Returns
    -------
    str or None
        The band, or None when the header has none of the keys.

    Raises
    ------
    deepshadows.errors.InputError
        If the first key present names no band g, r, i or z, or several; the message names the
        image, the key and its value.
    """
    for key in keys:
        value = header.get(key)
        if value is None or (key == "EXTNAME" and str(value).strip().upper() == "PRIMARY"):
            continue
        band = band_of_filter(value)
        if band is None:
            raise InputError(
                f"{name}: {key} = {str(value).strip()!r} does not name one band among {', '.join(BANDS)}"
            )
        return band
    return None


def check_units(header: fits.Header, name: str) -> None:
    """Refuse an image whose ``BUNIT`` is not nanomaggies.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The image's header; without ``BUNIT`` (or with an empty one) nothing is checked.
    name : str
        What to call the image in error messages.

    Returns
    -------
    None

    Raises
    ------
    deepshadows.errors.InputError
        If ``BUNIT`` is set and is none of :data:`NANOMAGGY_UNITS` (any case); the message names
        the image and the unit.
    """
    unit = header.get("BUNIT")
    if unit is None or not str(unit).strip():
        return
    if str(unit).strip().lower() not in NANOMAGGY_UNITS:
        raise InputError(
            f"{name}: BUNIT = {str(unit).strip()!r}; pixel values must be in nanomaggies per native pixel "
            f"(BUNIT {', '.join(NANOMAGGY_UNITS)}, any case, or no BUNIT)"
        )


def header_geometry(header: fits.Header, shape: tuple[int, int], name: str) -> _Geometry:
    """Return the pixel scale and the sky position of the central pixel from a header's celestial WCS.

    The scale is that of :meth:`astropy.wcs.WCS.proj_plane_pixel_scales` (from ``CD``, or
    ``CDELT`` and ``PC``), in arcsec.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The image's (or cube's) header.
    shape : tuple of int
        (H, W) of the image; the central pixel is ``((W - 1) / 2, (H - 1) / 2)``, 0-based.
    name : str
        What to call the image in error messages.

    Returns
    -------
    tuple of float or None
        ``(pixel_scale, ra, dec)`` in arcsec and degrees; None when the header has no celestial WCS.

    Raises
    ------
    deepshadows.errors.InputError
        If the WCS cannot be read, its pixels are not square or its scale is not positive.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header).celestial
            if not wcs.has_celestial:
                return None
            scales = [s.to_value(u.arcsec) for s in wcs.proj_plane_pixel_scales()]
            world = wcs.pixel_to_world_values((shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0)
        except (ValueError, KeyError, MemoryError, u.UnitsError) as exc:
            raise InputError(f"{name}: the header's WCS cannot be read ({exc})") from exc
    if not all(math.isfinite(s) and s > 0 for s in scales):
        raise InputError(f"{name}: the header's WCS gives a pixel scale of {scales[0]:g} arcsec")
    if abs(scales[0] - scales[1]) > 1e-3 * max(scales):
        raise InputError(
            f"{name}: the header's WCS has pixels of {scales[0]:.4g} x {scales[1]:.4g} arcsec; "
            "cutouts need square pixels"
        )
    ra, dec = (float(np.asarray(world[i])) for i in (wcs.wcs.lng, wcs.wcs.lat))
    return float(np.mean(scales)), ra, dec


def _shared_geometry(found: Sequence[tuple[str, _Geometry]], label: str) -> tuple[float | None, float, float]:
    """Return the pixel scale and centre of the first image with a WCS; every other must share the scale."""
    known = [(where, geometry) for where, geometry in found if geometry is not None]
    if not known:
        return None, math.nan, math.nan
    first, (scale, ra, dec) = known[0]
    for where, (other, _, _) in known[1:]:
        if abs(other - scale) > 1e-3 * scale:
            raise InputError(
                f"{label}: {first} has pixels of {scale:.4g} arcsec but {where} of {other:.4g}; "
                "the bands must share one pixel grid"
            )
    return scale, ra, dec


def _plane(data: np.ndarray | None) -> np.ndarray | None:
    """Return the (H, W) image of an HDU's data of shape (H, W) or (1, H, W); None for any other shape."""
    if data is None:
        return None
    data = np.asarray(data)
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    return data if data.ndim == 2 else None


def _open_hdus(source: str | os.PathLike[str] | bytes, name: str) -> fits.HDUList:
    """Open a FITS file or in-memory FITS bytes, reading every HDU now."""
    if not isinstance(source, bytes | bytearray):
        # Cutouts are small: reading the bytes first leaves no file handle open on an error.
        try:
            source = Path(source).read_bytes()
        except FileNotFoundError:
            raise InputError(f"{name}: FITS file not found") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read the file ({exc.strerror})") from exc
    if source[:2] == b"\x1f\x8b":  # gzip-compressed (.fits.gz)
        try:
            source = gzip.decompress(source)
        except (OSError, EOFError) as exc:
            raise InputError(f"{name}: cannot be read as gzip-compressed FITS ({exc})") from exc
    with warnings.catch_warnings():
        # astropy reports a truncated file as a warning and pads the data; here it is an error.
        warnings.simplefilter("error", AstropyUserWarning)
        try:
            hdus = fits.open(io.BytesIO(source), memmap=False, lazy_load_hdus=False)
        except (OSError, ValueError, TypeError, AstropyUserWarning) as exc:
            raise InputError(f"{name}: cannot be read as FITS ({exc})") from exc
        try:
            for hdu in hdus:
                if hdu.is_image and hdu.header.get("NAXIS", 0) > 0:
                    _ = hdu.data
        except (OSError, ValueError, TypeError, AstropyUserWarning) as exc:
            hdus.close()
            raise InputError(f"{name}: cannot be read as FITS, the data are incomplete ({exc})") from exc
    return hdus


def _first_image(hdus: fits.HDUList, name: str) -> tuple[np.ndarray, fits.Header]:
    for hdu in hdus:
        if hdu.is_image and hdu.data is not None:
            return np.asarray(hdu.data), hdu.header
    raise InputError(f"{name}: the FITS file holds no image data")
