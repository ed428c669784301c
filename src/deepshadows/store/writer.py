"""Writing a store: row blocks appended resumably, the finished file published atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from deepshadows._io import ClosingContext, beside, check_writable, partial_path
from deepshadows.errors import InputError
from deepshadows.store.rows import check_batch
from deepshadows.store.schema import (
    _CACHE_BYTES,
    _RESERVED_ATTRS,
    DEFAULT_ID_WIDTH,
    FORMAT,
    SCHEMA_VERSION,
    SPLITS,
    _check_compound,
    _chunk_rows,
    _config_of,
    _decode_attr,
    _encode_attr,
    _layout,
    _to_choice,
)

__all__ = ["StoreWriter"]


class StoreWriter(ClosingContext):
    """Write a store row block by row block, resumably, and publish it atomically.

    Rows go to ``<path>.partial``, with every dataset pre-sized to ``n_total``. HDF5 files are
    not crash-safe: a compressed chunk that is half-written when the process is killed cannot be
    read back, and re-writing part of it would need to read it. So rows reach the file only in
    whole image chunks (and the last, possibly shorter, one): appended rows wait in memory until
    a chunk is full, are written and flushed, and only then does the ``n_written`` attribute
    move. A killed process loses at most the rows of one chunk, which the resumed run simply
    recomputes; on ``resume=True`` the last chunks are read back, and any unreadable one is
    rewritten. :meth:`finalize` writes the splits and renames the file to ``path``.

    Parameters
    ----------
    path : path-like
        Final store file.
    n_total : int
        Number of rows the finished store holds.
    feature_dtype : numpy.dtype or None
        Structured dtype of the ``features`` columns, or None for a store without features.
    truth_dtype : numpy.dtype or None
        Structured dtype of the ``truth`` columns, or None.
    attrs : mapping
        Root attributes, normally ``config`` and ``provenance``; mappings and lists are stored
        as JSON strings. The writer owns ``schema_version``, ``format``, ``n_total``,
        ``n_written`` and ``complete``.
    image_shape : tuple of int, optional
        Shape (H, W, C) of one cutout.
    overwrite : bool, optional
        Whether an existing final file may be replaced.
    id_width : int, optional
        Bytes reserved per identifier (UTF-8). Identifiers are fixed-width byte strings rather
        than HDF5 variable-length strings, whose global heap does not survive a kill.
    resume : bool, optional
        Continue an existing ``.partial`` file written with the same ``config`` attribute.
        Without one, the store is started from scratch. With ``resume=False`` an existing
        ``.partial`` is replaced.

    Raises
    ------
    deepshadows.errors.InputError
        If ``path`` exists and ``overwrite`` is false, or the ``.partial`` to resume cannot be
        read or was written with a different configuration or layout.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_total: int,
        feature_dtype: np.dtype | None,
        truth_dtype: np.dtype | None,
        attrs: Mapping[str, Any],
        image_shape: tuple[int, int, int] = (64, 64, 3),
        overwrite: bool = False,
        id_width: int = DEFAULT_ID_WIDTH,
        resume: bool = False,
    ) -> None:
        self.path = check_writable(path, overwrite=overwrite)
        if int(id_width) < 1:
            raise ValueError(f"id_width must be positive, got {id_width}")
        self.id_width = int(id_width)
        self.partial = partial_path(self.path)
        if int(n_total) < 1:
            raise InputError(f"{self.path}: a store needs at least one row, got n_total={n_total}")
        reserved = sorted(_RESERVED_ATTRS.intersection(attrs))
        if reserved:
            raise ValueError(f"attrs {reserved} are set by the writer and cannot be given")
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (H, W, C) with positive sides, got {image_shape}")
        self.n_total = int(n_total)
        self.image_shape: tuple[int, int, int] = image_shape  # type: ignore[assignment]
        self.feature_dtype = _check_compound(feature_dtype, "feature_dtype")
        self.truth_dtype = _check_compound(truth_dtype, "truth_dtype")
        self._attrs = {key: _encode_attr(value) for key, value in attrs.items()}
        self._file: h5py.File | None
        if resume and self.partial.exists():
            self._file = self._reopen(attrs)
        else:
            self._file = self._create()
        self._chunk = int(self._file["images"].chunks[0])
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_rows = 0
        if resume:
            self._rewind_to_readable()

    # -- setup -------------------------------------------------------------------------------

    def _create(self) -> h5py.File:
        self.partial.unlink(missing_ok=True)
        f = h5py.File(self.partial, "w", rdcc_nbytes=_CACHE_BYTES)
        try:
            n = self.n_total
            f.create_dataset(
                "images",
                shape=(n, *self.image_shape),
                dtype=np.uint8,
                chunks=(_chunk_rows(n), *self.image_shape),
                compression="gzip",
                compression_opts=4,
                shuffle=True,
            )
            f.create_dataset("label", shape=(n,), dtype=np.int8, fillvalue=-1)
            f.create_dataset("kind", shape=(n,), dtype="S5")
            f.create_dataset("subclass", shape=(n,), dtype="S1")
            f.create_dataset("id", shape=(n,), dtype=f"S{self.id_width}")
            f.create_dataset("split", shape=(n,), dtype="S5")
            if self.feature_dtype is not None:
                f.create_dataset("features", shape=(n,), dtype=self.feature_dtype)
                f.create_dataset("feature_flag", shape=(n,), dtype=np.int16)
            if self.truth_dtype is not None:
                f.create_dataset("truth", shape=(n,), dtype=self.truth_dtype)
            f.attrs.update(self._attrs)
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["format"] = FORMAT
            f.attrs["n_total"] = n
            f.attrs["n_written"] = 0
            f.attrs["complete"] = False
            f.flush()
        except BaseException:
            f.close()
            raise
        return f

    def _reopen(self, attrs: Mapping[str, Any]) -> h5py.File:
        name = self.partial
        try:
            f = h5py.File(name, "r+", rdcc_nbytes=_CACHE_BYTES)
        except OSError:
            # A kill while HDF5 flushed its metadata can leave a file that no longer opens for
            # writing; copy the rows that still read back into a fresh file instead.
            f = self._salvage(attrs)
        try:
            self._check_resumable(f, attrs)
            f.attrs.update(self._attrs)
        except BaseException:
            f.close()
            raise
        return f

    def _salvage(self, attrs: Mapping[str, Any]) -> h5py.File:
        """Rebuild the ``.partial`` from the whole chunks of a damaged one that still read back."""
        name = self.partial
        damaged = beside(name, ".damaged")
        os.replace(name, damaged)
        try:
            old = h5py.File(damaged, "r", locking=False)
        except OSError as exc:
            os.replace(damaged, name)
            raise InputError(
                f"{name}: cannot resume, the file is not a readable HDF5 store "
                f"({exc}); rerun without --resume to start over"
            ) from exc
        with old:
            self._check_resumable(old, attrs)
            keys = [key for key in old if key != "split"]
            written = int(old.attrs.get("n_written", 0))
            chunk = int(old["images"].chunks[0])
            f = self._create()
            copied = 0
            for start in range(0, written - written % chunk if written < self.n_total else written, chunk):
                stop = min(start + chunk, written)
                try:
                    block = {key: old[key][start:stop] for key in keys}
                except OSError:
                    break
                for key, arr in block.items():
                    f[key][start:stop] = arr
                copied = stop
            f.attrs["n_written"] = copied
            f.flush()
        damaged.unlink()
        return f

    def _check_resumable(self, f: h5py.File, attrs: Mapping[str, Any]) -> None:
        name = self.partial
        hint = "rerun without --resume to start over"
        if _decode_attr(f.attrs.get("format")) != FORMAT:
            raise InputError(f"{name}: cannot resume, not a {FORMAT} file; {hint}")
        old, new = _config_of(f.attrs), _config_of(attrs)
        if old != new:
            detail = ""
            if isinstance(old, dict) and isinstance(new, dict):
                keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
                detail = f" (differing keys: {', '.join(keys)})"
            raise InputError(
                f"{name}: cannot resume, the file was written with a different configuration{detail}; {hint}"
            )
        expected: dict[str, Any] = {
            "n_total": (int(f.attrs.get("n_total", -1)), self.n_total),
            "image shape": (f["images"].shape[1:] if "images" in f else None, self.image_shape),
            "features": (
                _layout(f["features"].dtype if "features" in f else None),
                _layout(self.feature_dtype),
            ),
            "truth": (_layout(f["truth"].dtype if "truth" in f else None), _layout(self.truth_dtype)),
            "id type": (str(f["id"].dtype) if "id" in f else None, f"|S{self.id_width}"),
        }
        for what, (found, wanted) in expected.items():
            if found != wanted:
                raise InputError(
                    f"{name}: cannot resume, its {what} is {found}, this run writes {wanted}; {hint}"
                )

    # -- writing -----------------------------------------------------------------------------

    @property
    def n_written(self) -> int:
        """Number of rows written so far."""
        if self._file is None:
            raise ValueError(f"{self.partial}: writer is closed")
        return int(self._file.attrs["n_written"])

    def append(self, batch: Mapping[str, np.ndarray]) -> None:
        """Write the next rows and flush them to disk.

        Parameters
        ----------
        batch : mapping of str to ndarray
            ``images`` (k, H, W, C) uint8, ``label`` (k,) integers in {-1, 0, 1}, ``kind`` and
            ``subclass`` (k,) strings, ``id`` (k,) strings, and, when the store has them,
            ``features`` (k,) structured, ``feature_flag`` (k,) integers and ``truth`` (k,)
            structured.

        Raises
        ------
        ValueError
            If keys, shapes, dtypes or values do not fit the store, or the rows overflow it.
        """
        if self._file is None:
            raise ValueError(f"{self.partial}: writer is closed")
        data = check_batch(
            batch,
            image_shape=self.image_shape,
            feature_dtype=self.feature_dtype,
            truth_dtype=self.truth_dtype,
            id_width=self.id_width,
            n_appended=self.n_written + self._pending_rows,
            n_total=self.n_total,
        )
        self._pending.append(data)
        self._pending_rows += data["images"].shape[0]
        self._write_whole_chunks()

    def _write_whole_chunks(self) -> None:
        """Write the pending rows that fill whole chunks (all of them at the end of the store)."""
        assert self._file is not None
        start = self.n_written
        total = start + self._pending_rows
        stop = total if total == self.n_total else start + (self._pending_rows // self._chunk) * self._chunk
        if stop == start:
            return
        merged = {key: np.concatenate([part[key] for part in self._pending]) for key in self._pending[0]}
        count = stop - start
        for key, arr in merged.items():
            self._file[key][start:stop] = arr[:count]
        self._file.flush()  # the rows first, then the count that makes them part of the store
        self._file.attrs["n_written"] = stop
        self._file.flush()
        rest = {key: arr[count:] for key, arr in merged.items()}
        self._pending_rows -= count
        self._pending = [rest] if self._pending_rows else []

    def _rewind_to_readable(self) -> None:
        """Move ``n_written`` back to a chunk boundary whose chunks all read back intact."""
        assert self._file is not None
        f = self._file
        written = int(f.attrs["n_written"])
        stop = written if written == self.n_total else written - written % self._chunk
        while stop > 0:
            try:
                f["images"][max(stop - self._chunk, 0) : stop]
                f["id"][max(stop - self._chunk, 0) : stop]
                break
            except OSError:
                stop = max(stop - self._chunk, 0)
                stop -= stop % self._chunk
        if stop != written:
            f.attrs["n_written"] = stop
            f.flush()

    def finalize(
        self,
        split: np.ndarray,
        *,
        split_fractions: Sequence[float] | None,
        split_seed: int | None,
    ) -> Path:
        """Write the splits, mark the store complete and rename it to its final name.

        Parameters
        ----------
        split : ndarray of shape (n_total,)
            ``"train"``, ``"val"``, ``"test"`` or ``""`` per row (str or bytes).
        split_fractions : sequence of float or None
            Fractions the splits were drawn with, recorded as an attribute.
        split_seed : int or None
            Seed the splits were drawn with; None (recorded as -1) when they were given.

        Returns
        -------
        pathlib.Path
            The final store file.

        Raises
        ------
        ValueError
            If not all rows were written or ``split`` has the wrong length or values.
        """
        if self._file is None:
            raise ValueError(f"{self.partial}: writer is closed")
        if self.n_written != self.n_total:
            raise ValueError(
                f"{self.partial}: only {self.n_written} of {self.n_total} rows written; cannot finalize"
            )
        split_arr = np.asarray(split)
        if split_arr.shape != (self.n_total,):
            raise ValueError(f"split must have shape ({self.n_total},), got {split_arr.shape}")
        f = self._file
        f["split"][:] = _to_choice(split_arr, SPLITS, 5, "split")
        f.attrs["split_fractions"] = _encode_attr(
            None if split_fractions is None else [float(x) for x in split_fractions]
        )
        f.attrs["split_seed"] = -1 if split_seed is None else int(split_seed)
        f.attrs["complete"] = True
        self.close()
        os.replace(self.partial, self.path)
        return self.path

    def close(self) -> None:
        """Flush and close the file, leaving the ``.partial`` for a later resume.

        Rows still waiting for a whole chunk are dropped; a resumed run recomputes them.
        """
        if self._file is not None:
            try:
                self._file.flush()
            finally:
                self._file.close()
                self._file = None

    def __repr__(self) -> str:
        state = "closed" if self._file is None else f"{self.n_written}/{self.n_total} rows"
        return f"StoreWriter({str(self.path)!r}, {state})"
