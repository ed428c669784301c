"""Build a store from a folder of JPEG, PNG or FITS cutouts, optionally labelled by a table.

The concerns live in their own modules: reading images (:mod:`deepshadows.data.images`), FITS
cutouts (:mod:`deepshadows.data.fits_import`), the rows of a folder or a labels table
(:mod:`deepshadows.data.import_rows`) and writing them into a store (:mod:`deepshadows.data.writing`);
their public names are available here too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import check_writable
from deepshadows.data.fits import FITS_SUFFIXES, FitsObject, find_fits_objects
from deepshadows.data.fits_import import check_pixel_scale, import_fits, read_fits_checked, read_fits_cutout
from deepshadows.data.images import IMAGE_SUFFIXES, RESIZE_METHODS, _check_resize, _folder_files, read_image
from deepshadows.data.import_rows import _Rows, _rows_from_csv, _rows_from_fits, _rows_from_folder
from deepshadows.data.writing import _import_cutouts
from deepshadows.errors import InputError
from deepshadows.failures import FailedRow, failed_row, failures_path, write_failures
from deepshadows.store.splits import check_split_fractions
from deepshadows.surveys import get_survey

__all__ = [
    "IMAGE_SUFFIXES",
    "ImportResult",
    "RESIZE_METHODS",
    "import_fits",
    "import_folder",
    "import_images",
    "read_fits_cutout",
    "read_image",
]


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_folder` wrote; usable as the store's path (``os.fspath``).

    Parameters
    ----------
    path : pathlib.Path
        The store.
    n_stored : int
        Rows in the store.
    failures : list of FailedRow
        Rows left out because their image could not be read, in import order.
    failures_path : pathlib.Path or None
        The file listing them (None when every row was imported).
    """

    path: Path
    n_stored: int
    failures: list[FailedRow]
    failures_path: Path | None

    def __fspath__(self) -> str:
        """Return the store's path."""
        return os.fspath(self.path)


def _source_file(source: Path | FitsObject) -> Path:
    """Return the file a row's cutout is read from (a FITS object's cube or first band file)."""
    return source.files[0] if isinstance(source, FitsObject) else source


def _readable_rows(
    rows: _Rows, read: Callable[[Path | FitsObject], object], *, strict: bool
) -> tuple[_Rows, list[FailedRow]]:
    """Read every row's cutout once; return the rows that can be read, and the others."""
    keep: list[int] = []
    failures: list[FailedRow] = []
    for index, (path, ident) in enumerate(zip(rows.paths, rows.ids, strict=True)):
        try:
            read(path)
        except InputError as exc:
            if strict:
                raise
            failures.append(failed_row(index + 1, ident, _source_file(path), exc))
            continue
        keep.append(index)
    if not failures:
        return rows, failures
    kept = {
        f.name: [getattr(rows, f.name)[i] for i in keep]
        for f in dataclasses.fields(rows)
        if getattr(rows, f.name) is not None
    }
    return dataclasses.replace(rows, **kept), failures


def _stray_failures(others: Sequence[Path], *, first_row: int, strict: bool) -> list[FailedRow]:
    """Return the failure records of the files of a FITS folder that are not FITS files."""
    reason = f"not a FITS file (expected a name ending in {', '.join(FITS_SUFFIXES)})"
    if others and strict:
        raise InputError(f"{others[0]}: {reason}")
    return [FailedRow(first_row + k, path.stem, str(path), reason) for k, path in enumerate(others)]


@fill_doc
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
    truth: np.ndarray | None = None,
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
    %(import_out)s
    kinds, subclasses : sequence of str, optional
        ``kind`` and ``subclass`` per row; by default ``"lsbg"`` for LSBGs and ``""`` otherwise.
    splits : sequence of str, optional
        ``"train"``, ``"val"`` or ``"test"`` per row. By default the rows are split by
        :func:`~deepshadows.store.splits.make_splits` stratified by label when every label is
        known, and left unassigned otherwise.
    %(import_image_size)s
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size; None rejects them.
    %(import_overwrite)s
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.
    config : mapping, optional
        Extra entries for the store's ``config`` attribute.
    truth : ndarray of shape (n,), structured, optional
        Per-row catalogue columns (numbers, or fixed-width bytes for text), written as the
        store's ``truth`` table; ``ra`` and ``dec`` in degrees there are the rows' positions.

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
    size = int(image_size)
    return _import_cutouts(
        paths,
        ids,
        labels,
        read_row=lambda path: read_image(path, image_size=size, resize=resize),
        with_features=False,
        settings={"source": "import", "image_size": size, "resize": resize},
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


@fill_doc
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
    strict: bool = False,
    pixel_scale: float | None = None,
) -> ImportResult:
    """Build a store from a folder of JPEG, PNG or FITS cutouts.

    The cutouts are the ``.jpg``, ``.jpeg`` and ``.png`` images directly in ``folder``, or,
    when ``survey`` is given, its FITS files (``.fits``, ``.fit``, ``.fits.gz``, ``.fit.gz``);
    one folder holds one kind. Hidden files (``.DS_Store``), subfolders and the labels CSV itself
    are ignored. Without a labels CSV, any other visible file (a ``notes.txt``) is a row that
    fails: it is listed in ``<out>.failures.csv`` as not an image (or not a FITS file). With a
    labels CSV, the CSV's rows are the rows, and files it does not name are not imported.

    FITS cutouts hold float band images in nanomaggies per native pixel of ``survey`` (a
    ``BUNIT`` other than nanomaggies is refused), FITS orientation, object at the centre, as

    * one cube per object, ``<id>.fits``, of shape (bands, H, W): bands named by the header
      keys ``BAND0``, ``BAND1``, ... or ``BANDS`` (as the Legacy Survey viewer writes them),
      otherwise g, r, z for 3 planes and g, r, i, z for 4;
    * one file per object, ``<id>.fits``, of one (H, W) image HDU per band, each named by its
      ``FILTER``, ``BAND`` or ``EXTNAME`` (``"DECam g ..."``, ``"HSC-G"``, ``"g"``); or
    * one file per band, ``<id>_g.fits``, ``<id>_r.fits``, ``<id>_z.fits`` and optionally
      ``<id>_i.fits``, each one (H, W) image (a ``FILTER`` must name the same band).

    Their pixel scale is ``pixel_scale`` if given, else that of the header's celestial WCS,
    else the survey's native scale. They are turned into cutouts by the viewer pipeline of the
    simulated data (:func:`deepshadows.viewer.bands_to_cutout`, which cuts the viewer's field
    in arcseconds; final resize ``resize`` or nearest) and the store gets the 19 features
    measured on the float bands resampled to the native scale (the i-band ones are NaN without
    an i band), and a ``truth`` table with the ``ra``, ``dec`` of each cutout's central pixel
    from its WCS (NaN without one).

    Without a CSV every cutout becomes a row with id = file name without extension (and without
    ``_<band>`` for band files) and label -1 (unknown), and no split is assigned. With a labels
    table (CSV; or ECSV, FITS or another table astropy reads, told by the extension), its rows
    select and label the cutouts; columns (case-insensitive):

    ``id`` (required)
        Cutout identifier, unique.
    ``label`` (required)
        ``1``/``0``, ``lsbg``/``artifact``, ``type2``/``type1`` (artifacts) or
        ``true``/``false``, any case, as for every label table
        (:func:`deepshadows.data.label_tables.label_value`).
    ``file`` (optional)
        Image file (or FITS cube) relative to ``folder``; by default ``<id>.jpg``,
        ``<id>.jpeg`` or ``<id>.png`` (``<id>.fits`` or the band files for FITS).
    ``kind``, ``subclass`` (optional)
        ``lsbg`` / ``type2`` / ``type1`` and artifact subclass ``A`` .. ``F``.
    ``split`` (optional)
        ``train``, ``val`` or ``test``; without it the rows are split at random, stratified by
        label, with ``seed`` and ``split_fractions``.
    any other column (``ra``, ``dec``, magnitudes, names, ...)
        Kept per row in the store's ``truth`` table (JPEG/PNG folders), numbers as float64 or
        int64, text as fixed-width UTF-8; the first of ``ra``, ``ra_deg``, ``raj2000`` and of
        ``dec``, ``dec_deg``, ``dej2000``, ``decj2000`` (any case) as ``ra`` and ``dec`` in
        degrees. ``predict`` carries ``ra`` and ``dec`` into its tables, and any of these
        columns with ``--columns``. A folder imported without a table has no ``truth`` table.

    Parameters
    ----------
    folder : path-like
        Folder holding the cutouts.
    labels_csv : path-like or None
        Labels table (CSV, ECSV, FITS, ...), or None to import every cutout unlabelled.
    %(import_out)s
    %(import_image_size)s
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size (for example 256 x 256 viewer cutouts);
        None rejects them. For FITS cutouts, the filter of the final resize (None: nearest).
    %(import_overwrite)s
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.
    survey : {"des", "hsc"} or None, optional
        Survey of FITS cutouts (native pixel scale, noise and colour scales); required for FITS
        and only for FITS.
    strict : bool, optional
        Stop at the first cutout that cannot be read (a JPEG or PNG image that is corrupt or of
        the wrong size without ``resize``; a FITS cutout that is corrupt, lacks a band, holds
        NaNs or is too small; a file that is neither) instead of leaving it out. By default such
        rows are left out of the store (every cutout is read once before the store is written,
        to know which) and listed with their reasons in ``<out>.failures.csv`` (columns
        ``row, id, file, reason``, rows numbered from 1 in import order, the other files of a
        FITS folder after its objects; see :mod:`deepshadows.failures`), and the splits are
        drawn among the rows kept.
    pixel_scale : float, optional
        Pixel scale of the FITS cutouts in arcsec, overriding their headers (for files without
        a WCS); FITS only.

    Returns
    -------
    ImportResult
        The store file (``path``; the result can be used as a path), written atomically: on
        any error nothing is left at ``out``; and the rows left out (``failures``).

    Raises
    ------
    deepshadows.errors.InputError
        If the folder, the labels table or a cutout is invalid; the message names the file,
        and for the table the row (and the line of a CSV file).
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
    images, fits_files, others = _folder_files(folder, skip, fits=True)
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
    pixel_scale = check_pixel_scale(pixel_scale)
    if not fits_files and pixel_scale is not None:
        raise InputError(f"--pixel-scale: applies to FITS cutouts only, and {folder} holds none")
    if not images and not fits_files and csv_path is None:
        also = f" (only {len(others)} other file(s): {others[0].name}, ...)" if others else ""
        raise InputError(f"{folder}: no JPEG or PNG images (or FITS cutouts) found{also}")
    config = {"folder": str(folder), "labels_csv": None if csv_path is None else str(csv_path)}
    strays: list[Path] = []
    if fits_files:
        objects = find_fits_objects(fits_files)
        rows = _rows_from_fits(objects) if csv_path is None else _rows_from_csv(csv_path, folder, [], objects)
        strays = others if csv_path is None else []

        def read(source: Path | FitsObject) -> object:
            return read_fits_checked(source, survey=survey, pixel_scale=pixel_scale)  # type: ignore[arg-type]

    else:
        rows = (
            _rows_from_folder(sorted([*images, *others]))
            if csv_path is None
            else _rows_from_csv(csv_path, folder, images)
        )

        def read(source: Path | FitsObject) -> object:
            return read_image(source, image_size=int(image_size), resize=resize)  # type: ignore[arg-type]

    n_rows = len(rows.ids)
    rows, failures = _readable_rows(rows, read, strict=strict)
    failures += _stray_failures(strays, first_row=n_rows + 1, strict=strict)
    listed = write_failures(failures_path(out), failures)
    if not rows.ids:
        raise InputError(
            f"{folder}: none of the {len(failures)} cutouts can be read ({failures[0].message}); "
            f"all are listed in {listed}"
        )
    common = {
        "kinds": rows.kinds,
        "subclasses": rows.subclasses,
        "splits": rows.splits,
        "image_size": image_size,
        "overwrite": overwrite,
        "seed": seed,
        "split_fractions": split_fractions,
        "config": config,
    }
    if fits_files:
        path = import_fits(
            rows.paths,  # type: ignore[arg-type]
            rows.ids,
            rows.labels,
            out=out,
            survey=survey,  # type: ignore[arg-type]
            resize=resize or "nearest",
            pixel_scale=pixel_scale,
            truth=rows.catalog(),
            **common,  # type: ignore[arg-type]
        )
    else:
        path = import_images(
            rows.paths,  # type: ignore[arg-type]
            rows.ids,
            rows.labels,
            out=out,
            resize=resize,
            truth=rows.catalog(),
            **common,  # type: ignore[arg-type]
        )
    return ImportResult(path, len(rows.ids), failures, listed)
