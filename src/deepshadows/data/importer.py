"""Build a store from a folder of JPEG, PNG or FITS cutouts, optionally labelled by a CSV file.

FITS cutouts (float band images in nanomaggies, see :mod:`deepshadows.data.fits` for the two
layouts and their naming convention) go through the viewer's float -> uint8 pipeline
(:func:`deepshadows.viewer.bands_to_cutout`), and their 19 SourceExtractor-style features are
measured from the float bands, as for simulated cutouts.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from deepshadows._io import check_writable, partial_path
from deepshadows._provenance import provenance
from deepshadows.data.fits import (
    FITS_SUFFIXES,
    FitsObject,
    feature_dtype,
    find_fits_objects,
    is_fits_file,
    measure_band_features,
    min_cutout_pixels,
    read_fits_bands,
    read_fits_cube,
    read_fits_object,
)
from deepshadows.data.splits import check_split_fractions, make_splits
from deepshadows.data.store import DEFAULT_ID_WIDTH, KINDS, SUBCLASSES, StoreWriter
from deepshadows.errors import InputError
from deepshadows.surveys import RGB_BANDS, get_survey
from deepshadows.viewer import RESIZE_FILTERS, bands_to_cutout, resize_cutout

__all__ = [
    "IMAGE_SUFFIXES",
    "RESIZE_METHODS",
    "import_fits",
    "import_folder",
    "import_images",
    "read_fits_cutout",
    "read_image",
]

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
#: Accepted values of ``resize`` (the viewer pipeline's filters, one implementation for both).
RESIZE_METHODS = RESIZE_FILTERS

_LABELS = {"1": 1, "lsbg": 1, "0": 0, "artifact": 0}
_SPLIT_VALUES = ("train", "val", "test")
_BATCH = 256


def _check_resize(resize: str | None) -> str | None:
    if resize is not None and resize not in RESIZE_METHODS:
        raise InputError(f"--resize: expected one of {', '.join(RESIZE_METHODS)}, got {resize!r}")
    return resize


def read_image(
    path: str | os.PathLike[str], *, image_size: int = 64, resize: str | None = None
) -> np.ndarray:
    """Read one cutout as RGB.

    Parameters
    ----------
    path : path-like
        JPEG or PNG file.
    image_size : int, optional
        Required side in pixels.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size (for example 256 x 256 viewer cutouts) to
        ``image_size``; None rejects them.

    Returns
    -------
    ndarray of shape (image_size, image_size, 3), uint8
        The cutout, channels last.

    Raises
    ------
    deepshadows.errors.InputError
        If the file cannot be read as an image or has the wrong size; the message names it.
    """
    method = _check_resize(resize)
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: cannot be read as a JPEG or PNG image ({exc})") from exc
    width, height = rgb.size
    if (width, height) != (image_size, image_size):
        if method is None:
            raise InputError(
                f"{path}: image is {width}x{height} pixels, expected "
                f"{image_size}x{image_size}; pass --resize nearest or --resize "
                "bicubic to resample it"
            )
        if width != height:
            raise InputError(f"{path}: image is {width}x{height} pixels; only square images can be resized")
        return resize_cutout(np.asarray(rgb, dtype=np.uint8), size=image_size, resize=method)  # type: ignore[arg-type]
    return np.asarray(rgb, dtype=np.uint8)


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
    image = bands_to_cutout(bands, survey=survey, resize=resize, size=int(image_size))  # type: ignore[arg-type]
    features, flag = measure_band_features(bands, survey=survey, subtract_background=subtract_background)
    return image, features, flag


#: A row's cutout: an image file, or the FITS file(s) of one object.
_Source = Path | FitsObject


@dataclass
class _Rows:
    """Cutouts to import, one entry per row."""

    paths: list[_Source] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    subclasses: list[str] = field(default_factory=list)
    splits: list[str] | None = None


def _folder_files(folder: Path, skip: Path | None, *, fits: bool) -> tuple[list[Path], list[Path]]:
    """List the image and (with ``fits``) FITS files directly in ``folder``, rejecting anything else."""
    images: list[Path] = []
    fits_files: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if skip is not None and entry.resolve() == skip:
            continue
        if fits and is_fits_file(entry):
            fits_files.append(entry)
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            images.append(entry)
        else:
            allowed = IMAGE_SUFFIXES + (FITS_SUFFIXES if fits else ())
            what = "not a JPEG or PNG image" + (" nor a FITS file" if fits else "")
            raise InputError(
                f"{entry}: {what} (expected files ending in {', '.join(allowed)}); "
                "move it out of the image folder"
            )
    return images, fits_files


def _folder_images(folder: Path, skip: Path | None) -> list[Path]:
    """List the image files directly in ``folder``, rejecting anything else that is visible."""
    return _folder_files(folder, skip, fits=False)[0]


def _rows_from_folder(images: list[Path]) -> _Rows:
    rows = _Rows()
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen:
            raise InputError(
                f"{path}: id {path.stem!r} is also the name of {seen[path.stem].name};"
                " ids (file names without extension) must be unique"
            )
        seen[path.stem] = path
        rows.paths.append(path)
        rows.ids.append(path.stem)
        rows.labels.append(-1)
        rows.kinds.append("")
        rows.subclasses.append("")
    return rows


def _rows_from_fits(objects: Mapping[str, FitsObject]) -> _Rows:
    rows = _Rows()
    for ident in sorted(objects):
        rows.paths.append(objects[ident])
        rows.ids.append(ident)
        rows.labels.append(-1)
        rows.kinds.append("")
        rows.subclasses.append("")
    return rows


def _looked_for(ident: str, fits: bool) -> str:
    if fits:
        return f"{ident}.fits or {', '.join(f'{ident}_{b}.fits' for b in ('g', 'r', 'z'))}"
    return ", ".join(ident + s for s in IMAGE_SUFFIXES)


def _parse_row(
    record: Mapping[str, str],
    where: str,
    by_stem: Mapping[str, Sequence[_Source]],
    folder: Path,
    *,
    fits: bool = False,
) -> tuple[_Source, str, int, str, str]:
    """Check one CSV record and return (file or FITS object, id, label, kind, subclass)."""
    ident = record["id"]
    if not ident:
        raise InputError(f"{where}: empty id")
    label = _LABELS.get(record["label"].lower())
    if label is None:
        raise InputError(f"{where}: label {record['label']!r} is not one of 0, 1, lsbg, artifact")
    kind = record.get("kind", "").lower() or ("lsbg" if label == 1 else "")
    if kind not in KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS[:-1])}")
    if (kind == "lsbg") != (label == 1) and kind:
        raise InputError(f"{where}: kind {kind!r} contradicts label {record['label']!r}")
    subclass = record.get("subclass", "").upper()
    if subclass not in SUBCLASSES or (subclass and label == 1):
        raise InputError(f"{where}: subclass {subclass!r} is not valid for this row (artifacts only, A to F)")
    name = record.get("file", "")
    source: _Source
    if name:
        source = folder / name
        if not source.is_file():
            raise InputError(f"{where}: file {name!r} not found in {folder}")
        if fits:
            if not is_fits_file(source):
                raise InputError(f"{where}: file {name!r} is not a FITS file ({', '.join(FITS_SUFFIXES)})")
            source = FitsObject(ident, cube=source)
    else:
        matches = by_stem.get(ident, [])
        if not matches:
            raise InputError(
                f"{where}: no image for id {ident!r} (looked for {_looked_for(ident, fits)} in {folder})"
            )
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches if isinstance(p, Path))
            raise InputError(f"{where}: id {ident!r} matches several files ({names}); add a 'file' column")
        source = matches[0]
    return source, ident, label, kind, subclass


def _rows_from_csv(
    csv_path: Path, folder: Path, images: list[Path], objects: Mapping[str, FitsObject] | None = None
) -> _Rows:
    by_stem: dict[str, list[_Source]] = {}
    if objects is not None:
        by_stem = {ident: [obj] for ident, obj in objects.items()}
    for path in images:
        by_stem.setdefault(path.stem, []).append(path)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            records = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{csv_path}: cannot read the labels CSV ({exc})") from exc
    missing = [c for c in ("id", "label") if c not in header]
    if missing:
        raise InputError(
            f"{csv_path}: missing column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
        )
    rows = _Rows(splits=[] if "split" in header else None)
    first_row: dict[str, int] = {}
    for number, (line, values) in enumerate(records, start=1):
        where = f"{csv_path}, row {number} (line {line})"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InputError(f"{where}: {len(values)} fields, the header has {len(header)}")
        record = {h: v.strip() for h, v in zip(header, values, strict=True)}
        path, ident, label, kind, subclass = _parse_row(
            record, where, by_stem, folder, fits=objects is not None
        )
        if ident in first_row:
            raise InputError(f"{where}: id {ident!r} repeats row {first_row[ident]}")
        first_row[ident] = number
        if rows.splits is not None:
            split = record["split"].lower()
            if split not in _SPLIT_VALUES:
                raise InputError(
                    f"{where}: split {record['split']!r} is not one of {', '.join(_SPLIT_VALUES)}"
                )
            rows.splits.append(split)
        rows.paths.append(path)
        rows.ids.append(ident)
        rows.labels.append(label)
        rows.kinds.append(kind)
        rows.subclasses.append(subclass)
    if not rows.ids:
        raise InputError(f"{csv_path}: no data rows")
    return rows


#: Reads rows [start, stop): their cutouts, and their features and flags (None without features).
_BlockReader = Callable[[int, int], tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]


def _write_rows(
    n: int,
    ids: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    read_block: _BlockReader,
    out: Path,
    with_features: bool,
    kinds: Sequence[str] | None,
    subclasses: Sequence[str] | None,
    splits: Sequence[str] | None,
    image_size: int,
    overwrite: bool,
    seed: int,
    fractions: Sequence[float],
    config: Mapping[str, Any],
) -> Path:
    """Write ``n`` rows read block by block into the store ``out``; remove it on any error."""
    label_arr = np.asarray(labels, dtype=np.int64)
    if n == 0:
        raise InputError(f"{out}: no images to import")
    if len(ids) != n or label_arr.shape != (n,):
        raise ValueError(
            f"paths, ids and labels must have the same length, got {n}, "
            f"{len(ids)}, {label_arr.shape[0] if label_arr.ndim else 0}"
        )
    kind_arr = np.asarray(kinds if kinds is not None else np.where(label_arr == 1, "lsbg", ""), dtype=str)
    sub_arr = np.asarray(subclasses if subclasses is not None else [""] * n, dtype=str)
    if splits is not None:
        split_arr = np.asarray(splits, dtype=str)
        split_seed: int | None = None
        recorded = [float(np.mean(split_arr == s)) for s in _SPLIT_VALUES]
    elif (label_arr >= 0).all():
        split_arr = make_splits(label_arr, fractions=fractions, seed=seed)
        split_seed, recorded = int(seed), list(fractions)
    else:
        split_arr = np.full(n, "", dtype="S5")
        split_seed, recorded = None, None
    attrs = {"config": dict(config), "provenance": provenance()}
    size = int(image_size)
    writer = StoreWriter(
        out,
        n_total=n,
        feature_dtype=feature_dtype() if with_features else None,
        truth_dtype=None,
        attrs=attrs,
        image_shape=(size, size, 3),
        overwrite=overwrite,
        id_width=max([DEFAULT_ID_WIDTH, *(len(str(i).encode("utf-8")) for i in ids)]),
    )
    try:
        for start in range(0, n, _BATCH):
            stop = min(start + _BATCH, n)
            images, features, flags = read_block(start, stop)
            batch = {
                "images": images,
                "label": label_arr[start:stop],
                "kind": kind_arr[start:stop],
                "subclass": sub_arr[start:stop],
                "id": np.asarray(ids[start:stop], dtype=object),
            }
            if with_features:
                batch["features"] = np.array([tuple(row) for row in features], dtype=feature_dtype())
                batch["feature_flag"] = flags
            writer.append(batch)
        return writer.finalize(split_arr, split_fractions=recorded, split_seed=split_seed)
    except BaseException:
        writer.close()
        partial_path(out).unlink(missing_ok=True)
        raise


def import_images(
    paths: Sequence[str | os.PathLike[str]],
    ids: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    out: str | os.PathLike[str],
    kinds: Sequence[str] | None = None,
    subclasses: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    image_size: int = 64,
    resize: str | None = None,
    overwrite: bool = False,
    seed: int = 0,
    split_fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Write a store from a list of image files.

    Parameters
    ----------
    paths : sequence of path-like
        JPEG or PNG cutouts, one per row.
    ids : sequence of str
        Identifier per row.
    labels : sequence of int
        1 = LSBG, 0 = artifact, -1 = unknown, per row.
    out : path-like
        Store file to write.
    kinds, subclasses : sequence of str, optional
        ``kind`` and ``subclass`` per row; by default ``"lsbg"`` for LSBGs and ``""`` otherwise.
    splits : sequence of str, optional
        ``"train"``, ``"val"`` or ``"test"`` per row. By default the rows are split by
        :func:`~deepshadows.data.splits.make_splits` stratified by label when every label is
        known, and left unassigned otherwise.
    image_size : int, optional
        Side of the stored cutouts in pixels.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size; None rejects them.
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.
    config : mapping, optional
        Extra entries for the store's ``config`` attribute.

    Returns
    -------
    pathlib.Path
        The store file. Nothing is left at ``out`` if an image cannot be read.

    Raises
    ------
    deepshadows.errors.InputError
        If an image is unreadable or of the wrong size, an argument is invalid, or ``out``
        exists and ``overwrite`` is false.
    """
    fractions = check_split_fractions(split_fractions)
    _check_resize(resize)
    if int(image_size) < 1:
        raise InputError(f"--image-size: must be a positive number of pixels, got {image_size}")
    out = check_writable(out, overwrite=overwrite)
    size = int(image_size)

    def read_block(start: int, stop: int) -> tuple[np.ndarray, None, None]:
        return (
            np.stack([read_image(p, image_size=size, resize=resize) for p in paths[start:stop]]),
            None,
            None,
        )

    return _write_rows(
        len(paths),
        ids,
        labels,
        read_block=read_block,
        out=out,
        with_features=False,
        kinds=kinds,
        subclasses=subclasses,
        splits=splits,
        image_size=size,
        overwrite=overwrite,
        seed=seed,
        fractions=fractions,
        config={
            "source": "import",
            "image_size": size,
            "resize": resize,
            "seed": int(seed),
            "split_fractions": list(fractions),
            **(config or {}),
        },
    )


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
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.
    config : mapping, optional
        Extra entries for the store's ``config`` attribute.

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
    if resize not in RESIZE_METHODS:
        raise InputError(f"--resize: expected one of {', '.join(RESIZE_METHODS)}, got {resize!r}")
    if not 8 <= int(image_size) <= 256:
        raise InputError(f"--image-size: must lie in [8, 256] for FITS cutouts, got {image_size}")
    out = check_writable(out, overwrite=overwrite)
    size = int(image_size)

    def read_block(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = [
            read_fits_cutout(
                source, survey=name, image_size=size, resize=resize, subtract_background=subtract_background
            )
            for source in sources[start:stop]
        ]
        return (
            np.stack([r[0] for r in rows]),
            np.stack([r[1] for r in rows]),
            np.array([r[2] for r in rows], dtype=np.int16),
        )

    return _write_rows(
        len(sources),
        ids,
        labels,
        read_block=read_block,
        out=out,
        with_features=True,
        kinds=kinds,
        subclasses=subclasses,
        splits=splits,
        image_size=size,
        overwrite=overwrite,
        seed=seed,
        fractions=fractions,
        config={
            "source": "import-fits",
            "survey": name,
            "image_size": size,
            "resize": resize,
            "subtract_background": bool(subtract_background),
            "seed": int(seed),
            "split_fractions": list(fractions),
            **(config or {}),
        },
    )


def import_folder(
    folder: str | os.PathLike[str],
    *,
    labels_csv: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    image_size: int = 64,
    resize: str | None = None,
    overwrite: bool = False,
    seed: int = 0,
    split_fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    survey: str | None = None,
) -> Path:
    """Build a store from a folder of JPEG, PNG or FITS cutouts.

    Every visible file directly in ``folder`` must be a ``.jpg``, ``.jpeg`` or ``.png`` image,
    or, when ``survey`` is given, a FITS file (``.fits``, ``.fit``, ``.fits.gz``, ``.fit.gz``);
    hidden files, subfolders and the labels CSV itself are ignored. One folder holds one kind.

    FITS cutouts hold float band images in nanomaggies per native pixel of ``survey``, FITS
    orientation, object at the centre, either as

    * one cube per object, ``<id>.fits``, of shape (bands, H, W): bands named by the header
      keys ``BAND0``, ``BAND1``, ... (as the Legacy Survey viewer writes them), otherwise g, r, z
      for 3 planes and g, r, i, z for 4; or
    * one file per band, ``<id>_g.fits``, ``<id>_r.fits``, ``<id>_z.fits`` and optionally
      ``<id>_i.fits``, each one (H, W) image.

    They are turned into cutouts by the viewer pipeline of the simulated data
    (:func:`deepshadows.viewer.bands_to_cutout`, final resize ``resize`` or nearest) and the
    store gets the 19 features measured on the float bands (the i-band ones are NaN without an
    i band).

    Without a CSV every cutout becomes a row with id = file name without extension (and without
    ``_<band>`` for band files) and label -1 (unknown), and no split is assigned. With a CSV,
    its rows select and label the cutouts; columns (case-insensitive):

    ``id`` (required)
        Cutout identifier, unique.
    ``label`` (required)
        ``1`` or ``lsbg``, ``0`` or ``artifact``.
    ``file`` (optional)
        Image file (or FITS cube) relative to ``folder``; by default ``<id>.jpg``,
        ``<id>.jpeg`` or ``<id>.png`` (``<id>.fits`` or the band files for FITS).
    ``kind``, ``subclass`` (optional)
        ``lsbg`` / ``type2`` / ``type1`` and artifact subclass ``A`` .. ``F``.
    ``split`` (optional)
        ``train``, ``val`` or ``test``; without it the rows are split at random, stratified by
        label, with ``seed`` and ``split_fractions``.

    Parameters
    ----------
    folder : path-like
        Folder holding the cutouts.
    labels_csv : path-like or None
        CSV file of labels, or None to import every cutout unlabelled.
    out : path-like
        Store file to write.
    image_size : int, optional
        Side of the stored cutouts in pixels.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size (for example 256 x 256 viewer cutouts);
        None rejects them. For FITS cutouts, the filter of the final resize (None: nearest).
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.
    survey : {"des", "hsc"} or None, optional
        Survey of FITS cutouts (native pixel scale, noise and colour scales); required for FITS
        and only for FITS.

    Returns
    -------
    pathlib.Path
        The store file, written atomically: on any error nothing is left at ``out``.

    Raises
    ------
    deepshadows.errors.InputError
        If the folder, the CSV or a cutout is invalid; the message names the file, and for the
        CSV the row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: image folder not found")
    check_split_fractions(split_fractions)
    _check_resize(resize)
    if survey is not None:
        survey = get_survey(survey).name
    check_writable(out, overwrite=overwrite)
    csv_path = None if labels_csv is None else Path(labels_csv)
    if csv_path is not None and not csv_path.is_file():
        raise InputError(f"{csv_path}: labels CSV not found")
    skip = None if csv_path is None else csv_path.resolve()
    images, fits_files = _folder_files(folder, skip, fits=True)
    if fits_files and images:
        raise InputError(
            f"{folder}: holds both FITS files ({fits_files[0].name}, ...) and JPEG/PNG images "
            f"({images[0].name}, ...); import them from separate folders"
        )
    if fits_files and survey is None:
        raise InputError(
            f"{folder}: holds FITS cutouts; pass --survey des or --survey hsc (their pixel scale "
            "and colour scales turn the bands into cutouts)"
        )
    if not fits_files and survey is not None:
        raise InputError(f"--survey: applies to FITS cutouts only, and {folder} holds none")
    if not images and not fits_files and csv_path is None:
        raise InputError(f"{folder}: no JPEG or PNG images (or FITS cutouts) found")
    config = {"folder": str(folder), "labels_csv": None if csv_path is None else str(csv_path)}
    if fits_files:
        objects = find_fits_objects(fits_files)
        rows = _rows_from_fits(objects) if csv_path is None else _rows_from_csv(csv_path, folder, [], objects)
        return import_fits(
            rows.paths,  # type: ignore[arg-type]
            rows.ids,
            rows.labels,
            out=out,
            survey=survey,  # type: ignore[arg-type]
            kinds=rows.kinds,
            subclasses=rows.subclasses,
            splits=rows.splits,
            image_size=image_size,
            resize=resize or "nearest",
            overwrite=overwrite,
            seed=seed,
            split_fractions=split_fractions,
            config=config,
        )
    rows = _rows_from_folder(images) if csv_path is None else _rows_from_csv(csv_path, folder, images)
    return import_images(
        rows.paths,  # type: ignore[arg-type]
        rows.ids,
        rows.labels,
        out=out,
        kinds=rows.kinds,
        subclasses=rows.subclasses,
        splits=rows.splits,
        image_size=image_size,
        resize=resize,
        overwrite=overwrite,
        seed=seed,
        split_fractions=split_fractions,
        config=config,
    )
