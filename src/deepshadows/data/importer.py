"""Build a store from a folder of JPEG or PNG cutouts, optionally labelled by a CSV file."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from deepshadows._io import check_writable, partial_path
from deepshadows._provenance import provenance
from deepshadows.data.splits import check_split_fractions, make_splits
from deepshadows.data.store import DEFAULT_ID_WIDTH, KINDS, SUBCLASSES, StoreWriter
from deepshadows.errors import InputError
from deepshadows.viewer import RESIZE_FILTERS, resize_cutout

__all__ = ["IMAGE_SUFFIXES", "RESIZE_METHODS", "import_folder", "import_images", "read_image"]

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


@dataclass
class _Rows:
    """Cutouts to import, one entry per row."""

    paths: list[Path] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    subclasses: list[str] = field(default_factory=list)
    splits: list[str] | None = None


def _folder_images(folder: Path, skip: Path | None) -> list[Path]:
    """List the image files directly in ``folder``, rejecting anything else that is visible."""
    images = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if skip is not None and entry.resolve() == skip:
            continue
        if entry.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(
                f"{entry}: not a JPEG or PNG image (expected files ending in "
                f"{', '.join(IMAGE_SUFFIXES)}); move it out of the image folder"
            )
        images.append(entry)
    return images


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


def _parse_row(
    record: Mapping[str, str], where: str, by_stem: Mapping[str, list[Path]], folder: Path
) -> tuple[Path, str, int, str, str]:
    """Check one CSV record and return (file, id, label, kind, subclass)."""
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
    if name:
        path = folder / name
        if not path.is_file():
            raise InputError(f"{where}: file {name!r} not found in {folder}")
    else:
        matches = by_stem.get(ident, [])
        if not matches:
            raise InputError(
                f"{where}: no image for id {ident!r} (looked for "
                f"{', '.join(ident + s for s in IMAGE_SUFFIXES)} in {folder})"
            )
        if len(matches) > 1:
            raise InputError(
                f"{where}: id {ident!r} matches several files "
                f"({', '.join(p.name for p in matches)}); add a 'file' column"
            )
        path = matches[0]
    return path, ident, label, kind, subclass


def _rows_from_csv(csv_path: Path, folder: Path, images: list[Path]) -> _Rows:
    by_stem: dict[str, list[Path]] = {}
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
        path, ident, label, kind, subclass = _parse_row(record, where, by_stem, folder)
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
    n = len(paths)
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
    attrs = {
        "config": {
            "source": "import",
            "image_size": int(image_size),
            "resize": resize,
            "seed": int(seed),
            "split_fractions": list(fractions),
            **(config or {}),
        },
        "provenance": provenance(),
    }
    size = int(image_size)
    writer = StoreWriter(
        out,
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs=attrs,
        image_shape=(size, size, 3),
        overwrite=overwrite,
        id_width=max([DEFAULT_ID_WIDTH, *(len(str(i).encode("utf-8")) for i in ids)]),
    )
    try:
        for start in range(0, n, _BATCH):
            stop = min(start + _BATCH, n)
            writer.append(
                {
                    "images": np.stack(
                        [read_image(p, image_size=size, resize=resize) for p in paths[start:stop]]
                    ),
                    "label": label_arr[start:stop],
                    "kind": kind_arr[start:stop],
                    "subclass": sub_arr[start:stop],
                    "id": np.asarray(ids[start:stop], dtype=object),
                }
            )
        return writer.finalize(split_arr, split_fractions=recorded, split_seed=split_seed)
    except BaseException:
        writer.close()
        partial_path(out).unlink(missing_ok=True)
        raise


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
) -> Path:
    """Build a store from a folder of JPEG or PNG cutouts.

    Every visible file directly in ``folder`` must be a ``.jpg``, ``.jpeg`` or ``.png`` image
    (hidden files, subfolders and the labels CSV itself are ignored).

    Without a CSV every image becomes a row with id = file name without extension and label
    -1 (unknown), and no split is assigned. With a CSV, its rows select and label the images;
    columns (case-insensitive):

    ``id`` (required)
        Cutout identifier, unique.
    ``label`` (required)
        ``1`` or ``lsbg``, ``0`` or ``artifact``.
    ``file`` (optional)
        Image file relative to ``folder``; by default ``<id>.jpg``, ``<id>.jpeg`` or ``<id>.png``.
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
        CSV file of labels, or None to import every image unlabelled.
    out : path-like
        Store file to write.
    image_size : int, optional
        Side of the stored cutouts in pixels.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square images of another size (for example 256 x 256 viewer cutouts);
        None rejects them.
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    seed : int, optional
        Seed of the splits.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions.

    Returns
    -------
    pathlib.Path
        The store file, written atomically: on any error nothing is left at ``out``.

    Raises
    ------
    deepshadows.errors.InputError
        If the folder, the CSV or an image is invalid; the message names the file, and for the
        CSV the row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: image folder not found")
    check_split_fractions(split_fractions)
    _check_resize(resize)
    check_writable(out, overwrite=overwrite)
    csv_path = None if labels_csv is None else Path(labels_csv)
    if csv_path is not None and not csv_path.is_file():
        raise InputError(f"{csv_path}: labels CSV not found")
    images = _folder_images(folder, None if csv_path is None else csv_path.resolve())
    if csv_path is None:
        if not images:
            raise InputError(f"{folder}: no JPEG or PNG images found")
        rows = _rows_from_folder(images)
    else:
        rows = _rows_from_csv(csv_path, folder, images)
    config = {"folder": str(folder), "labels_csv": None if csv_path is None else str(csv_path)}
    return import_images(
        rows.paths,
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
