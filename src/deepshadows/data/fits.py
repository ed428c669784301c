"""FITS cutouts: float band images in nanomaggies, their 8-bit cutout and their features.

Two layouts are read, both with pixel values in nanomaggies per native pixel, FITS orientation
(row 0 is south) and the object at the centre:

a cube
    One file, one image HDU of shape (bands, H, W), as the Legacy Survey viewer's
    ``fits-cutout`` serves it. The band of each plane comes from the header keys ``BAND0``,
    ``BAND1``, ... (or a ``BANDS`` string such as ``"grz"``), written by the viewer; without
    them a cube of 3 planes is read as g, r, z and one of 4 planes as g, r, i, z.
one file per band
    ``<id>_g.fits``, ``<id>_r.fits``, ``<id>_z.fits`` and optionally ``<id>_i.fits``, each
    holding one (H, W) image of the same shape.

File names may end in ``.fits``, ``.fit``, ``.fits.gz`` or ``.fit.gz``. The viewer's image
pipeline needs g, r and z; the 19 SourceExtractor-style features need g, r, i and z. Without
an i band the i-band features (``mag_auto_i``, ``flux_radius_i``, ``mu_*_i``, ``g_i``,
``r_i``) are NaN and detection uses r and z only (see :func:`measure_band_features`).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES, measure_features
from deepshadows.surveys import BANDS, RGB_BANDS, Survey, get_survey

__all__ = [
    "DEFAULT_CUBE_BANDS",
    "FITS_SUFFIXES",
    "I_BAND_FEATURES",
    "FitsObject",
    "feature_dtype",
    "find_fits_objects",
    "fits_stem",
    "is_fits_file",
    "measure_band_features",
    "min_cutout_pixels",
    "read_fits_bands",
    "read_fits_cube",
    "read_fits_object",
]

#: File name endings read as FITS (case-insensitive).
FITS_SUFFIXES: tuple[str, ...] = (".fits", ".fit", ".fits.gz", ".fit.gz")
#: Band order assumed for a cube without band names in its header, by number of planes.
DEFAULT_CUBE_BANDS: dict[int, tuple[str, ...]] = {3: ("g", "r", "z"), 4: ("g", "r", "i", "z")}
#: Features that need the i band.
I_BAND_FEATURES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n.endswith("_i"))
_BAND_FILE = re.compile(r"^(?P<id>.+)_(?P<band>[griz])$")
# Without an i image the r image stands in for it, with a noise so large that it adds nothing
# to the detection image; the i-band features are then discarded.
_ABSENT_BAND_NOISE_FACTOR = 1e4


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


def feature_dtype() -> np.dtype:
    """Return the structured dtype of the store's ``features`` table (float32 per feature).

    Returns
    -------
    numpy.dtype
        One float32 field per name of :data:`deepshadows.features.FEATURE_NAMES`, in that order.
    """
    return np.dtype([(name, np.float32) for name in FEATURE_NAMES])


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


def read_fits_object(obj: FitsObject, *, required: Sequence[str] = RGB_BANDS) -> dict[str, np.ndarray]:
    """Read the bands of one object found by :func:`find_fits_objects`.

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


def min_cutout_pixels(survey: Survey | str, pixel_scale: float | None = None) -> int:
    """Return the least side, in pixels of ``pixel_scale``, of band images that cover the viewer's field.

    The viewer cutout spans ``survey.field_of_view`` arcsec; band images must span at least as
    much for :func:`deepshadows.viewer.bands_to_cutout` to fill it.

    Parameters
    ----------
    survey : Survey or str
        Gives the field of view and, by default, the pixel scale.
    pixel_scale : float, optional
        Pixel scale of the band images in arcsec (default: the survey's native scale).

    Returns
    -------
    int
        ``field_of_view / pixel_scale`` rounded up.
    """
    survey = get_survey(survey)
    scale = survey.native_scale if pixel_scale is None else float(pixel_scale)
    return int(np.ceil(survey.field_of_view / scale - 1e-9))


def measure_band_features(
    bands: Mapping[str, np.ndarray],
    *,
    survey: Survey | str,
    pixel_scale: float | None = None,
    subtract_background: bool = False,
) -> tuple[np.ndarray, int]:
    """Measure the 19 SourceExtractor-style features from float band images, as the simulator does.

    Calls :func:`deepshadows.features.measure_features` with the survey's per-pixel noise. Without
    an i band, the r image stands in for it with a negligible detection weight and the features
    in :data:`I_BAND_FEATURES` are set to NaN.

    Parameters
    ----------
    bands : mapping of str to ndarray of shape (H, W)
        At least g, r and z, in nanomaggies per native pixel, object at the centre.
    survey : Survey or str
        Gives the noise levels and, by default, the pixel scale.
    pixel_scale : float, optional
        Pixel scale of ``bands`` in arcsec (default: the survey's native scale).
    subtract_background : bool, optional
        Subtract a ``sep`` background first (off, as for the simulated cutouts).

    Returns
    -------
    features : ndarray of shape (19,), float64
        In the order of :data:`deepshadows.features.FEATURE_NAMES`.
    flag : int
        The measurement's bitmask (see :mod:`deepshadows.features`).

    Raises
    ------
    deepshadows.errors.InputError
        If g, r or z is missing.
    """
    survey = get_survey(survey)
    missing = [b for b in ("g", "r", "z") if b not in bands]
    if missing:
        raise InputError(f"bands: missing band(s) {', '.join(missing)}; the features need g, r, z (and i)")
    noise = survey.pixel_noise()
    sigma = [noise[b] for b in BANDS]
    has_i = "i" in bands
    if not has_i:
        sigma[BANDS.index("i")] = noise["r"] * _ABSENT_BAND_NOISE_FACTOR
    stack = np.stack([np.asarray(bands[b if b != "i" or has_i else "r"], dtype=np.float32) for b in BANDS])
    features, flag = measure_features(
        stack,
        pixel_scale=survey.native_scale if pixel_scale is None else float(pixel_scale),
        noise_sigma=sigma,
        subtract_background=subtract_background,
    )
    if not has_i:
        features = features.copy()
        features[[FEATURE_NAMES.index(n) for n in I_BAND_FEATURES]] = np.nan
    return features, int(flag)
