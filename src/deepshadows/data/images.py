"""JPEG and PNG cutouts: reading one as a 64 x 64 RGB array, and listing the images of a folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from deepshadows.data.fits import FITS_SUFFIXES, is_fits_file
from deepshadows.errors import InputError
from deepshadows.viewer import RESIZE_FILTERS, resize_cutout

__all__ = ["IMAGE_SUFFIXES", "RESIZE_METHODS", "read_image"]

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
#: Accepted values of ``resize`` (the viewer pipeline's filters, one implementation for both).
RESIZE_METHODS = RESIZE_FILTERS


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
