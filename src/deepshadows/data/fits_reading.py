"""Reading FITS cutouts into float band images, from a cube or from one file per band.

Every image is checked: it must be readable (also gzip-compressed), hold finite numbers and
match the other bands in size. The layouts are described in :mod:`deepshadows.data.fits`.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from deepshadows.data.fits_files import FitsObject
from deepshadows.errors import InputError
from deepshadows.surveys import BANDS, RGB_BANDS

__all__ = ["DEFAULT_CUBE_BANDS", "read_fits_bands", "read_fits_cube", "read_fits_object"]

#: Band order assumed for a cube without band names in its header, by number of planes.
DEFAULT_CUBE_BANDS: dict[int, tuple[str, ...]] = {3: ("g", "r", "z"), 4: ("g", "r", "i", "z")}


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
    """Read a FITS cube of shape (bands, H, W) as one float image per band.

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
        the planes cannot be matched to bands, a required band is missing, the size differs
        from ``shape``, or a pixel is NaN or infinite. The message names the source.
    """
    label = name if name is not None else ("FITS data" if isinstance(source, bytes) else str(source))
    with _open_hdus(source, label) as hdus:
        data, header = _first_image(hdus, label)
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
        out = {band: _check_values(data[k], label, band) for k, band in enumerate(names)}
    _check_bands(out, label, required, shape)
    return out


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
        differ, or a pixel is NaN or infinite.
    """
    files = {str(b).lower(): Path(p) for b, p in files.items()}
    label = name if name is not None else (str(next(iter(files.values()))) if files else "FITS bands")
    unknown = sorted(set(files) - set(BANDS))
    if unknown:
        raise InputError(f"{label}: unknown band(s) {', '.join(unknown)}; expected g, r, i, z")
    out: dict[str, np.ndarray] = {}
    for band in (b for b in BANDS if b in files):
        path = files[band]
        with _open_hdus(path, str(path)) as hdus:
            data, _ = _first_image(hdus, str(path))
        if data.ndim == 3 and data.shape[0] == 1:
            data = data[0]
        if data.ndim != 2:
            raise InputError(f"{path}: expected one (H, W) image of band {band}, got shape {data.shape}")
        out[band] = _check_values(data, str(path), band)
    _check_bands(out, label, required, shape)
    return out


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
    if obj.cube is not None:
        return read_fits_cube(obj.cube, required=required)
    return read_fits_bands(obj.band_files, required=required, name=f"id {obj.ident!r}")
