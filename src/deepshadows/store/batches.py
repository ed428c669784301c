"""Reading cutouts from a store: conversion to network input, rows by index and batches by chunk.

:func:`iter_store_batches` does the work of :meth:`deepshadows.store.reader.Store.iter_batches`
and :func:`read_rows` that of :meth:`deepshadows.store.reader.Store.read_images`; both read the
``images`` dataset of an open store in whole slabs rather than point by point.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import h5py
import numpy as np

from deepshadows._io import check_at_least_one

if TYPE_CHECKING:
    from deepshadows.store.reader import Store

# iter_store_batches and read_rows serve Store only; to_float is public (deepshadows.data).
__all__ = ["to_float"]


def _copy(images: np.ndarray) -> np.ndarray:
    return np.array(images)


def to_float(images: np.ndarray) -> np.ndarray:
    """Convert served cutouts to network input.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, C), uint8
        Cutouts, channels last, as kept in the store.

    Returns
    -------
    ndarray of shape (N, C, H, W), float32
        Channels first, scaled to [0, 1] by dividing by 255.

    Raises
    ------
    ValueError
        If ``images`` is not a four-dimensional uint8 array.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W, C), got {images.dtype} {images.shape}")
    out = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


def read_rows(ds: h5py.Dataset, idx: np.ndarray) -> np.ndarray:
    """Read rows of a dataset by index, as one slab when the selection is dense.

    Parameters
    ----------
    ds : h5py.Dataset
        Dataset to read, rows along the first axis.
    idx : ndarray of shape (k,), int64
        Rows to read, each in range, in any order and with repeats; not empty.

    Returns
    -------
    ndarray of shape (k, ...)
        The rows in the requested order.
    """
    rows, inverse = np.unique(idx, return_inverse=True)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    if hi - lo <= 4 * rows.size:
        # A dense selection is cheaper to read as one slab than point by point.
        data = ds[lo:hi][rows - lo]
    else:
        data = ds[rows]
    return data[inverse.ravel()]


def _buffered(
    images: list[np.ndarray], rows: list[np.ndarray], rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the held cutouts and their rows as two arrays, shuffled alike when ``rng`` is given."""
    held_images, held_rows = np.concatenate(images), np.concatenate(rows)
    if rng is not None:
        perm = rng.permutation(held_rows.size)
        held_images, held_rows = held_images[perm], held_rows[perm]
    return held_images, held_rows


def iter_store_batches(
    store: Store,
    split: str | None = None,
    *,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int | None = None,
    buffer_rows: int = 4096,
    raw: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Iterate over a split of ``store`` in batches, reading whole HDF5 chunks.

    The body of :meth:`deepshadows.store.reader.Store.iter_batches`, whose docstring gives the
    parameters, what is yielded and what is raised; nothing is checked or read before the first
    batch is asked for.
    """
    check_at_least_one(batch_size, "--batch-size")
    batch_size = int(batch_size)
    idx = store.indices(split)
    labels = store._column("label")
    chunk_rows, n = store._chunk_rows, len(store)
    rng = np.random.default_rng(seed) if shuffle else None
    chunk_of = idx // chunk_rows
    chunks, starts = np.unique(chunk_of, return_index=True)
    bounds = np.append(starts, idx.size)
    order = np.arange(chunks.size) if rng is None else rng.permutation(chunks.size)
    target = max(batch_size, int(buffer_rows)) if rng is not None else batch_size
    ds = store._file()["images"]
    convert = _copy if raw else to_float
    buf_img: list[np.ndarray] = []
    buf_idx: list[np.ndarray] = []
    held = 0
    for c in order:
        rows = idx[bounds[c] : bounds[c + 1]]
        lo = int(chunks[c]) * chunk_rows
        slab = ds[lo : min(lo + chunk_rows, n)]
        buf_img.append(slab[rows - lo])
        buf_idx.append(rows)
        held += rows.size
        if held >= target:
            images, rows_held = _buffered(buf_img, buf_idx, rng)
            n_out = rows_held.size - rows_held.size % batch_size
            for s in range(0, n_out, batch_size):
                sel = rows_held[s : s + batch_size]
                yield convert(images[s : s + batch_size]), labels[sel], sel
            buf_img, buf_idx = [images[n_out:]], [rows_held[n_out:]]
            held = rows_held.size - n_out
    if held:
        images, rows_held = _buffered(buf_img, buf_idx, rng)
        for s in range(0, rows_held.size, batch_size):
            sel = rows_held[s : s + batch_size]
            yield convert(images[s : s + batch_size]), labels[sel], sel
