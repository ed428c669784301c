"""Reading FITS cutouts into float band images, from a cube, a multi-extension file or band files.

Every image is checked: it must be readable (also gzip-compressed), hold finite numbers in
nanomaggies (``BUNIT``, where stated) and match the other bands in size. The header's celestial
WCS, where there is one, gives the pixel scale and the position of the central pixel (see
:func:`read_fits_source`). The layouts are described in :mod:`deepshadows.data.fits`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from deepshadows.data.fits_files import (
    FitsObject,
    _first_image,
    _Geometry,
    _open_hdus,
    _plane,
    _shared_geometry,
    check_units,
    header_band,
    header_geometry,
)
from deepshadows.errors import InputError
from deepshadows.surveys import BANDS, RGB_BANDS

__all__ = [
    "DEFAULT_CUBE_BANDS",
    "FitsBands",
    "read_fits_bands",
    "read_fits_cube",
    "read_fits_object",
    "read_fits_source",
]

#: Band order assumed for a cube without band names in its header, by number of planes.
DEFAULT_CUBE_BANDS: dict[int, tuple[str, ...]] = {3: ("g", "r", "z"), 4: ("g", "r", "i", "z")}


@dataclass(frozen=True)
class FitsBands:
    """The band images of one FITS cutout and what its header says of their grid.

    Parameters
    ----------
    bands : dict of str to ndarray of shape (H, W), float32
        Band name to image, in nanomaggies per native pixel.
    name : str
        What error messages call the cutout (its file, or ``id '<id>'`` for band files).
    pixel_scale : float or None
        Pixel scale in arcsec from the header's celestial WCS; None without one.
    ra, dec : float
        Sky position of the central pixel in degrees; NaN without a celestial WCS.
    """

    bands: dict[str, np.ndarray] = field(repr=False)
    name: str
    pixel_scale: float | None = None
    ra: float = math.nan
    dec: float = math.nan


def _header_bands(header: fits.Header, n: int) -> tuple[str, ...] | None:
    """Band names from ``BAND0``.. keys or a ``BANDS`` string, or None when absent."""
    keyed = [header.get(f"BAND{k}") for k in range(n)]
    if all(isinstance(b, str) and b.strip() for b in keyed):
        return tuple(b.strip().lower() for b in keyed)  # type: ignore[union-attr]
    bands = header.get("BANDS")
    if isinstance(bands, str) and len(bands.strip()) == n:
        return tuple(bands.strip().lower())
    return None


def _check_values(image: np.ndarray, name: str, band: str) -> np.ndarray:
    if image.dtype.kind not in "iuf":
        raise InputError(f"{name}: band {band} holds {image.dtype} values, expected numbers")
    out = np.asarray(image, dtype=np.float32)
    bad = int(np.count_nonzero(~np.isfinite(out)))
    if bad:
        raise InputError(
            f"{name}: band {band} has {bad} NaN or infinite pixel(s) of {out.size}; "
            "cutouts must be finite (fill gaps with 0)"
        )
    return out


def _check_bands(
    bands: Mapping[str, np.ndarray], name: str, required: Sequence[str], shape: tuple[int, int] | None
) -> None:
    missing = [b for b in required if b not in bands]
    if missing:
        raise InputError(
            f"{name}: missing band(s) {', '.join(missing)}; found {', '.join(bands) or 'none'}, "
            f"need {', '.join(required)}"
        )
    shapes = {b: tuple(a.shape) for b, a in bands.items()}
    if len(set(shapes.values())) > 1:
        found = ", ".join(f"{b} {s[1]}x{s[0]}" for b, s in shapes.items())
        raise InputError(f"{name}: band images differ in size ({found})")
    first = next(iter(shapes.values()))
    if min(first) < 8:
        raise InputError(f"{name}: band images are {first[1]}x{first[0]} pixels, too small for a cutout")
    if shape is not None and first != tuple(shape):
        raise InputError(
            f"{name}: band images are {first[1]}x{first[0]} pixels, expected {shape[1]}x{shape[0]}"
        )


def read_fits_cube(
    source: str | os.PathLike[str] | bytes,
    *,
    bands: Sequence[str] | None = None,
    required: Sequence[str] = RGB_BANDS,
    shape: tuple[int, int] | None = None,
    name: str | None = None,
) -> dict[str, np.ndarray]:
    """Read a FITS cube of shape (bands, H, W), or one image HDU per band, as one float image per band.

    A file of several image HDUs, each one (H, W) image, is read as one band per HDU, named by
    its ``FILTER``, ``BAND`` or ``EXTNAME`` (see :func:`~deepshadows.data.fits_files.header_band`).

    Parameters
    ----------
    source : path-like or bytes
        FITS file, or its bytes (for example a downloaded ``fits-cutout``).
    bands : sequence of str, optional
        Band of each plane, used when the header names none (``BAND0``.. or ``BANDS``);
        by default g, r, z for 3 planes and g, r, i, z for 4.
    required : sequence of str, optional
        Bands that must be present (default g, r, z, which the viewer pipeline needs).
    shape : tuple of int, optional
        Required (H, W) of every plane.
    name : str, optional
        What to call the source in error messages (default: the path, or ``"FITS data"``).

    Returns
    -------
    dict of str to ndarray of shape (H, W), float32
        Band name (lower case) to image, in nanomaggies per native pixel, in file order.

    Raises
    ------
    deepshadows.errors.InputError
        If the data cannot be read as FITS or are truncated, the image is not three-dimensional,
        the planes or HDUs cannot be matched to distinct bands, a required band is missing, the
        size differs from ``shape``, ``BUNIT`` is not nanomaggies, or a pixel is NaN or
        infinite. The message names the source.
    """
    label = name if name is not None else ("FITS data" if isinstance(source, bytes) else str(source))
    return _read_cube(source, bands, required, shape, label).bands


def _read_cube(
    source: str | os.PathLike[str] | bytes,
    bands: Sequence[str] | None,
    required: Sequence[str],
    shape: tuple[int, int] | None,
    label: str,
) -> FitsBands:
    with _open_hdus(source, label) as hdus:
        images = [(k, hdu) for k, hdu in enumerate(hdus) if hdu.is_image and hdu.data is not None]
        if not images:
            raise InputError(f"{label}: the FITS file holds no image data")
        if len(images) > 1 and all(_plane(hdu.data) is not None for _, hdu in images):
            return _read_extensions(images, label, required, shape)
        data, header = np.asarray(images[0][1].data), images[0][1].header
        if data.ndim == 2:
            data = data[None]
        if data.ndim != 3:
            raise InputError(
                f"{label}: expected a cube of shape (bands, H, W), got an image of shape {data.shape}"
            )
        n = data.shape[0]
        names = _header_bands(header, n)
        if names is None:
            if bands is not None:
                names = tuple(b.lower() for b in bands)
            elif n in DEFAULT_CUBE_BANDS:
                names = DEFAULT_CUBE_BANDS[n]
            else:
                raise InputError(
                    f"{label}: a cube of {n} plane(s) without BAND0.. header keys; "
                    "expected 3 (g, r, z) or 4 (g, r, i, z) planes"
                )
        if len(names) != n:
            raise InputError(
                f"{label}: the cube has {n} plane(s) but {len(names)} band names ({', '.join(names)})"
            )
        unknown = sorted(set(names) - set(BANDS))
        if unknown or len(set(names)) != n:
            raise InputError(
                f"{label}: band names {', '.join(names)} must be distinct bands among g, r, i, z"
            )
        check_units(header, label)
        out = {band: _check_values(data[k], label, band) for k, band in enumerate(names)}
        geometry = header_geometry(header, data.shape[1:], label)
    _check_bands(out, label, required, shape)
    return FitsBands(out, label, *_shared_geometry([(label, geometry)], label))


def _read_extensions(
    images: Sequence[tuple[int, fits.hdu.base.ExtensionHDU]],
    label: str,
    required: Sequence[str],
    shape: tuple[int, int] | None,
) -> FitsBands:
    """Read a multi-extension file, one (H, W) image HDU per band named by its header."""
    out: dict[str, np.ndarray] = {}
    hdu_of: dict[str, int] = {}
    found: list[tuple[str, _Geometry]] = []
    for k, hdu in images:
        here = f"{label} (HDU {k})"
        band = header_band(hdu.header, here)
        if band is None:
            raise InputError(
                f"{here}: a file of one image HDU per band, but HDU {k} has no FILTER, BAND or "
                "EXTNAME naming its band"
            )
        if band in out:
            raise InputError(f"{label}: HDUs {hdu_of[band]} and {k} both hold band {band}")
        check_units(hdu.header, here)
        plane = _plane(hdu.data)
        out[band], hdu_of[band] = _check_values(plane, label, band), k  # type: ignore[arg-type]
        found.append((f"HDU {k}", header_geometry(hdu.header, plane.shape, here)))  # type: ignore[union-attr]
    _check_bands(out, label, required, shape)
    return FitsBands(out, label, *_shared_geometry(found, label))


def read_fits_bands(
    files: Mapping[str, str | os.PathLike[str]],
    *,
    required: Sequence[str] = RGB_BANDS,
    shape: tuple[int, int] | None = None,
    name: str | None = None,
) -> dict[str, np.ndarray]:
    """Read one FITS file per band as float images.

    Parameters
    ----------
    files : mapping of str to path-like
        Band name (g, r, i or z) to a FITS file holding one (H, W) image (or a (1, H, W) cube).
    required : sequence of str, optional
        Bands that must be present (default g, r, z).
    shape : tuple of int, optional
        Required (H, W) of every image.
    name : str, optional
        What to call the object in error messages (default: the first file).

    Returns
    -------
    dict of str to ndarray of shape (H, W), float32
        Band name to image, in nanomaggies per native pixel, in the order g, r, i, z.

    Raises
    ------
    deepshadows.errors.InputError
        If a file is unreadable, not a single image, a required band is missing, the sizes
        differ, the header's ``FILTER`` (or ``BAND``) names another band than the mapping,
        ``BUNIT`` is not nanomaggies, or a pixel is NaN or infinite.
    """
    files = {str(b).lower(): Path(p) for b, p in files.items()}
    label = name if name is not None else (str(next(iter(files.values()))) if files else "FITS bands")
    return _read_band_files(files, required, shape, label).bands


def _read_band_files(
    files: Mapping[str, Path], required: Sequence[str], shape: tuple[int, int] | None, label: str
) -> FitsBands:
    unknown = sorted(set(files) - set(BANDS))
    if unknown:
        raise InputError(f"{label}: unknown band(s) {', '.join(unknown)}; expected g, r, i, z")
    out: dict[str, np.ndarray] = {}
    found: list[tuple[str, _Geometry]] = []
    for band in (b for b in BANDS if b in files):
        path = files[band]
        with _open_hdus(path, str(path)) as hdus:
            data, header = _first_image(hdus, str(path))
        plane = _plane(data)
        if plane is None:
            raise InputError(f"{path}: expected one (H, W) image of band {band}, got shape {data.shape}")
        named = header_band(header, str(path), keys=("FILTER", "BAND"))
        if named is not None and named != band:
            raise InputError(
                f"{path}: the file name says band {band} but the header (FILTER or BAND) says {named}"
            )
        check_units(header, str(path))
        out[band] = _check_values(plane, str(path), band)
        found.append((path.name, header_geometry(header, plane.shape, str(path))))
    _check_bands(out, label, required, shape)
    return FitsBands(out, label, *_shared_geometry(found, label))


def read_fits_object(obj: FitsObject, *, required: Sequence[str] = RGB_BANDS) -> dict[str, np.ndarray]:
    """Read the bands of one object found by :func:`~deepshadows.data.fits_files.find_fits_objects`.

    Parameters
    ----------
    obj : FitsObject
        The object: its cube is read by :func:`read_fits_cube`, otherwise its band files by
        :func:`read_fits_bands`.
    required : sequence of str, optional
        Bands that must be present (default g, r, z).

    Returns
    -------
    dict of str to ndarray of shape (H, W), float32
        Band name to image, in nanomaggies per native pixel.

    Raises
    ------
    deepshadows.errors.InputError
        As for :func:`read_fits_cube` or :func:`read_fits_bands`; for band files the message
        names the object's id.
    """
    return read_fits_source(obj, required=required).bands


def read_fits_source(
    source: FitsObject | str | os.PathLike[str] | bytes | Mapping[str, str | os.PathLike[str]],
    *,
    required: Sequence[str] = RGB_BANDS,
    name: str | None = None,
) -> FitsBands:
    """Read one FITS cutout with what its header says of its pixel grid.

    Parameters
    ----------
    source : FitsObject, path-like, bytes or mapping of band to path-like
        An object found by :func:`~deepshadows.data.fits_files.find_fits_objects`, a cube or
        multi-extension file (or its bytes), or one file per band.
    required : sequence of str, optional
        Bands that must be present (default g, r, z).
    name : str, optional
        What to call the cutout in error messages (default: the file, the first band file, or
        ``id '<id>'`` for an object's band files).

    Returns
    -------
    FitsBands
        The band images, and the pixel scale and centre from the header's celestial WCS (the
        first band's where there are several files or HDUs; all must share the scale).

    Raises
    ------
    deepshadows.errors.InputError
        As for :func:`read_fits_cube` or :func:`read_fits_bands`, or if the WCS cannot be read,
        has pixels that are not square, or the bands' pixel scales differ.
    """
    if isinstance(source, FitsObject):
        if source.cube is not None:
            return read_fits_source(source.cube, required=required, name=name)
        return read_fits_source(source.band_files, required=required, name=name or f"id {source.ident!r}")
    if isinstance(source, Mapping):
        files = {str(b).lower(): Path(p) for b, p in source.items()}
        label = name or (str(next(iter(files.values()))) if files else "FITS bands")
        return _read_band_files(files, required, None, label)
    label = name or ("FITS data" if isinstance(source, bytes) else str(source))
    return _read_cube(source, None, required, None, label)
