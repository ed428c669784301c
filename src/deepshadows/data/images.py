"""JPEG and PNG cutouts: reading one as a 64 x 64 RGB array, and listing the images of a folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from deepshadows.data.fits import is_fits_file
from deepshadows.errors import InputError
from deepshadows.viewer import RESIZE_FILTERS, resize_cutout

__all__ = ["IMAGE_SUFFIXES", "RESIZE_METHODS", "not_an_image_reason", "read_image"]

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
#: Accepted values of ``resize`` (the viewer pipeline's filters, one implementation for both).
RESIZE_METHODS = RESIZE_FILTERS


def _check_resize(resize: str | None, *, optional: bool = True) -> str | None:
    """Return ``resize`` if it names a filter of ``RESIZE_METHODS``, or is None and ``optional``."""
    if (resize is not None or not optional) and resize not in RESIZE_METHODS:
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
        If the file's name does not end in one of :data:`IMAGE_SUFFIXES`, it cannot be read
        as an image or it has the wrong size; the message names it.
    """
    method = _check_resize(resize)
    path = Path(path)
    reason = not_an_image_reason(path)
    if reason is not None:
        raise InputError(f"{path}: {reason}")
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


def not_an_image_reason(path: str | os.PathLike[str]) -> str | None:
    """Return why a file is not read as an image (its name's ending), or None if it may be.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str or None
        ``"not a JPEG or PNG image (...)"`` when the name does not end in one of
        :data:`IMAGE_SUFFIXES`; None otherwise.
    """
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        return None
    return f"not a JPEG or PNG image (expected a name ending in {', '.join(IMAGE_SUFFIXES)})"


def _folder_files(
    folder: Path, skip: Path | None, *, fits: bool
) -> tuple[list[Path], list[Path], list[Path]]:
    """List the images, (with ``fits``) the FITS files and the other files directly in ``folder``.

    Hidden files (``.DS_Store``) and sub-folders are ignored. The other visible files (a
    ``notes.txt``) are returned as the third list: the batch commands list them as failures
    (see :func:`not_an_image_reason`) rather than stopping or passing over them in silence.
    """
    images: list[Path] = []
    fits_files: list[Path] = []
    others: list[Path] = []
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
            others.append(entry)
    return images, fits_files, others


def _folder_images(folder: Path, skip: Path | None) -> list[Path]:
    """List the visible files directly in ``folder``, in name order: images and any other file.

    A file that is not an image stays in the list, in its place, so that reading it fails with
    :func:`read_image`'s message and the batch command lists it among its failures.
    """
    images, _, others = _folder_files(folder, skip, fits=False)
    return sorted([*images, *others])
