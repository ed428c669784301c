"""Inputs of prediction as streams of (ids, cutouts) batches: a store, a folder or one image.

Every kind of input is read batch by batch, so memory holds about one batch of cutouts (plus
one HDF5 chunk for a store) however many rows the input has. A store is read in contiguous
slabs that end on chunk boundaries, so each compressed chunk is decoded once, and its ids are
read slab by slab rather than as a whole column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from deepshadows._io import check_at_least_one
from deepshadows.data.images import IMAGE_SUFFIXES, _check_resize, _folder_images, read_image
from deepshadows.errors import InputError
from deepshadows.failures import FailedRow, failed_row
from deepshadows.store.reader import open_store
from deepshadows.viewer import resize_cutout

__all__ = ["STORE_SUFFIXES", "iter_input"]

#: File name endings always read as stores (case-insensitive); other HDF5 files are stores too
#: when they carry the store's ``format`` attribute.
STORE_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5")

Batch = tuple[list[str], np.ndarray]
#: A block of rows: the ids and cutouts of those that could be read (after the forward pass, their
#: logits in place of the cutouts), and the failure records of those that could not.
Block = tuple[list[str], np.ndarray, list[FailedRow]]


@dataclass(frozen=True)
class _Input:
    """An opened input: its number of rows and a function that streams blocks from a row."""

    path: Path
    total: int
    stream: Callable[[int, int], Iterator[Block]]

    def blocks(self, start: int, batch_size: int) -> Iterator[Block]:
        """Return an iterator over the blocks of rows ``start`` onwards, unreadable rows apart.

        Each block covers ``batch_size`` rows of the input (fewer at its end): the ids and
        cutouts of those that could be read, and a :class:`~deepshadows.failures.FailedRow`
        for each image that could not (unreadable, or of the wrong size).
        """
        check_at_least_one(batch_size, "--batch-size")
        if not 0 <= int(start) <= self.total:
            raise InputError(f"{self.path}: cannot start at row {start}, the input has {self.total} rows")
        return self.stream(int(start), int(batch_size))

    def batches(self, start: int, batch_size: int) -> Iterator[Batch]:
        """Return an iterator over the batches of rows ``start`` onwards; an unreadable row raises."""
        return _strict(self.blocks(start, batch_size))


def _strict(blocks: Iterator[Block]) -> Iterator[Batch]:
    """Yield the batches of ``blocks``, raising the error of the first row that failed."""
    for ids, images, failures in blocks:
        if failures:
            raise InputError(failures[0].message)
        yield ids, images


def iter_input(
    path: str | os.PathLike[str],
    *,
    batch_size: int = 512,
    image_size: int = 64,
    resize: str | None = None,
    start: int = 0,
) -> tuple[int, Iterator[Batch]]:
    """Open an input of prediction and stream its cutouts in batches.

    Parameters
    ----------
    path : path-like
        One of

        * a store: a file ending in ``.h5`` or ``.hdf5``, or any HDF5 file with the store's
          ``format`` attribute; ids are its ``id`` column;
        * a folder of JPEG or PNG cutouts, read in order of file name; ids are the file names
          without extension. Hidden files and subfolders are ignored, any other visible file is
          an error;
        * one JPEG or PNG file; its id is the file name without extension.
    batch_size : int, optional
        Rows per batch; the last batch may be smaller.
    image_size : int, optional
        Side in pixels of the cutouts the model takes.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square cutouts of another size to ``image_size``; None rejects them.
    start : int, optional
        Number of leading rows to skip without reading them (to resume an interrupted run).

    Returns
    -------
    total : int
        Number of rows of the whole input, skipped rows included.
    batches : iterator of (list of str, ndarray of shape (B, image_size, image_size, 3), uint8)
        Ids and cutouts, in input order. Image files are read, and checked, as the iterator
        advances.

    Raises
    ------
    deepshadows.errors.InputError
        If the input is missing or of an unknown kind, a store is invalid or holds cutouts of
        another size, a folder holds a file that is not an image or no image at all, or an
        argument is invalid; the message names the file. An image of the wrong size or that
        cannot be read raises when its batch is read.
    """
    source = _open_input(path, image_size=image_size, resize=resize)
    return source.total, source.batches(start, batch_size)


def _open_input(path: str | os.PathLike[str], *, image_size: int, resize: str | None) -> _Input:
    """Check an input and return its size and batch stream."""
    _check_resize(resize)
    if int(image_size) < 1:
        raise InputError(f"--image-size: must be a positive number of pixels, got {image_size}")
    path = Path(path)
    if path.is_dir():
        return _open_folder(path, int(image_size), resize)
    if not path.exists():
        raise InputError(f"{path}: input not found (expected a store, a folder of images or an image)")
    suffix = path.suffix.lower()
    if suffix in STORE_SUFFIXES:
        return _open_store(path, int(image_size), resize)
    if suffix in IMAGE_SUFFIXES:
        return _open_files(path, [path], int(image_size), resize)
    if h5py.is_hdf5(path):
        return _open_store(path, int(image_size), resize)
    raise InputError(
        f"{path}: not a store ({', '.join(STORE_SUFFIXES)}), a folder of images or a JPEG or PNG "
        f"image ({', '.join(IMAGE_SUFFIXES)})"
    )


def _open_folder(folder: Path, image_size: int, resize: str | None) -> _Input:
    images = _folder_images(folder, None)
    if not images:
        raise InputError(f"{folder}: no JPEG or PNG images found")
    seen: dict[str, Path] = {}
    for image in images:
        other = seen.setdefault(image.stem, image)
        if other is not image:
            raise InputError(
                f"{image}: id {image.stem!r} is also the name of {other.name};"
                " ids (file names without extension) must be unique"
            )
    return _open_files(folder, images, image_size, resize)


def _open_files(path: Path, files: list[Path], image_size: int, resize: str | None) -> _Input:
    def stream(start: int, batch_size: int) -> Iterator[Block]:
        for lo in range(start, len(files), batch_size):
            ids: list[str] = []
            images: list[np.ndarray] = []
            failures: list[FailedRow] = []
            for row, file in enumerate(files[lo : lo + batch_size], start=lo + 1):
                try:
                    images.append(read_image(file, image_size=image_size, resize=resize))
                except InputError as exc:
                    failures.append(failed_row(row, file.stem, file, exc))
                    continue
                ids.append(file.stem)
            empty = np.empty((0, image_size, image_size, 3), dtype=np.uint8)
            yield ids, np.stack(images) if images else empty, failures

    return _Input(path, len(files), stream)


def _open_store(path: Path, image_size: int, resize: str | None) -> _Input:
    n = len(open_store(path))  # checks format, schema version, completeness and datasets
    try:
        with h5py.File(path, "r") as f:
            shape = tuple(int(s) for s in f["images"].shape[1:])
            chunks = f["images"].chunks
    except OSError as exc:
        raise InputError(f"{path}: cannot read the HDF5 file ({exc})") from exc
    chunk_rows = int(chunks[0]) if chunks else 128
    wanted = (image_size, image_size, 3)
    convert: Callable[[np.ndarray], np.ndarray] | None = None
    if shape != wanted:
        height, width, channels = shape
        if channels != 3:
            raise InputError(f"{path}: store cutouts have {channels} channels, expected 3 (RGB)")
        if resize is None:
            raise InputError(
                f"{path}: store cutouts are {width}x{height} pixels, expected {image_size}x{image_size};"
                " pass --resize nearest or --resize bicubic to resample them"
            )
        if width != height:
            raise InputError(
                f"{path}: store cutouts are {width}x{height} pixels; only square cutouts can be resized"
            )

        def convert(images: np.ndarray) -> np.ndarray:
            return np.stack([resize_cutout(im, size=image_size, resize=resize) for im in images])  # type: ignore[arg-type]

    def stream(start: int, batch_size: int) -> Iterator[Block]:
        for ids, images in _store_batches(path, n, start, batch_size, chunk_rows, convert):
            yield ids, images, []

    return _Input(path, n, stream)


def _store_batches(
    path: Path,
    n: int,
    start: int,
    batch_size: int,
    chunk_rows: int,
    convert: Callable[[np.ndarray], np.ndarray] | None,
) -> Iterator[Batch]:
    """Yield batches of a store, reading slabs of rows that end on chunk boundaries.

    Each slab covers at least the rows missing from the next batch, so memory holds at most
    ``batch_size + chunk_rows`` cutouts.
    """
    if start >= n:
        return
    with h5py.File(path, "r") as f:
        images_ds, ids_ds = f["images"], f["id"].asstr("utf-8")
        held_ids: list[str] = []
        held_images: np.ndarray | None = None
        pos = start
        while pos < n:
            want = pos + batch_size - len(held_ids)
            stop = min(n, -(-want // chunk_rows) * chunk_rows)
            slab = images_ds[pos:stop]
            held_ids.extend(ids_ds[pos:stop].tolist())
            held_images = (
                slab if held_images is None or not len(held_images) else np.concatenate([held_images, slab])
            )
            pos = stop
            n_out = len(held_ids) if pos == n else len(held_ids) - len(held_ids) % batch_size
            for lo in range(0, n_out, batch_size):
                batch = held_images[lo : lo + batch_size]
                yield held_ids[lo : lo + batch_size], batch if convert is None else convert(batch)
            held_ids, held_images = held_ids[n_out:], held_images[n_out:]
