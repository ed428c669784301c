"""The HDF5 data store: cutouts, labels, ids, splits, features and truth in one file.

Schema version 1 (one file per data set):

``images``
    uint8, shape (N, H, W, 3), channels last as served by the viewer (H = W = 64 by default);
    chunked by up to 128 cutouts, gzip level 4 with the shuffle filter.
``label``
    int8: 1 = LSBG, 0 = artifact, -1 = unknown.
``kind``
    ``S5``: ``"lsbg"``, ``"type2"``, ``"type1"`` or ``""`` (unknown).
``subclass``
    ``S1``: artifact subclass ``"A"`` .. ``"F"``, ``""`` for LSBGs and unknown rows.
``id``
    UTF-8 bytes, fixed width (``S64`` unless the writer was given a larger ``id_width``);
    readers also accept variable-length strings.
``split``
    ``S5``: ``"train"``, ``"val"``, ``"test"`` or ``""`` (unassigned).
``features``, ``feature_flag``
    optional compound dataset of named float columns and its int16 flag.
``truth``
    optional compound dataset of the simulation's true parameters.

Root attributes: ``schema_version`` (1), ``format`` (``"deepshadows-store"``), ``config`` and
``provenance`` (JSON strings), ``n_total``, ``n_written``, ``complete``, ``split_fractions``
(JSON) and ``split_seed`` (-1 when the splits were not drawn from a seed).

Compound datasets are plain HDF5 tables, so ``astropy.table.Table.read(path, path="features")``
reads them without this package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
from astropy.table import Table

from deepshadows import classes
from deepshadows._io import check_writable, partial_path
from deepshadows.errors import InputError

__all__ = [
    "FORMAT",
    "KINDS",
    "SCHEMA_VERSION",
    "SUBCLASSES",
    "Store",
    "StoreWriter",
    "open_store",
    "to_float",
]

#: Value of the root ``format`` attribute that marks a file as a store.
FORMAT = "deepshadows-store"
#: Schema version written by :class:`StoreWriter` and accepted by :class:`Store`.
SCHEMA_VERSION = 1
DEFAULT_ID_WIDTH = 64
#: Allowed values of the ``kind`` column (``""`` = unknown).
KINDS: tuple[str, ...] = (*classes.KINDS, "")
#: Allowed values of the ``subclass`` column (``""`` = none or unknown).
SUBCLASSES: tuple[str, ...] = (*sorted(classes.SUBCLASS_NAMES), "")
#: Allowed values of the ``split`` column (``""`` = unassigned).
SPLITS: tuple[str, ...] = ("train", "val", "test", "")

_CHUNK_ROWS = 128
_CACHE_BYTES = 16 * 1024**2  # holds about ten 64 x 64 x 3 chunks of 128 cutouts


def _chunk_rows(n_total: int) -> int:
    """Rows per image chunk: 128, or fewer for small stores so that progress is kept in steps."""
    return max(1, min(_CHUNK_ROWS, -(-int(n_total) // 8)))


_RESERVED_ATTRS = frozenset({"schema_version", "format", "n_total", "n_written", "complete"})
_REQUIRED = ("images", "label", "kind", "subclass", "id", "split")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _encode_attr(value: Any) -> Any:
    """Return ``value`` in a form HDF5 attributes hold: mappings and sequences become JSON."""
    if isinstance(value, Mapping | list | tuple) or value is None:
        return json.dumps(value, sort_keys=True, default=_json_default)
    return value


def _decode_attr(value: Any) -> Any:
    """Return a root attribute as a plain Python value, decoding JSON mappings and lists."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str) and (value[:1] in ("{", "[") or value == "null"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _config_of(attrs: Mapping[str, Any]) -> Any:
    """Return the decoded ``config`` attribute (a JSON string or a mapping), or None."""
    value = attrs.get("config")
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.loads(json.dumps(value, sort_keys=True, default=_json_default))


def _check_compound(dtype: np.dtype | None, name: str) -> np.dtype | None:
    if dtype is None:
        return None
    dtype = np.dtype(dtype)
    if dtype.names is None:
        raise ValueError(f"{name} must be a structured dtype with named columns, got {dtype}")
    for field in dtype.names:
        if dtype[field].hasobject:
            raise ValueError(f"{name} column {field!r} has an object dtype; use fixed-size numbers or bytes")
    return dtype


def _layout(dtype: np.dtype | None) -> list[tuple[str, str]] | None:
    """Return the column names and types of a structured dtype, ignoring padding."""
    if dtype is None or dtype.names is None:
        return None
    return [(name, dtype[name].str) for name in dtype.names]


def _to_choice(values: Any, allowed: tuple[str, ...], width: int, key: str) -> np.ndarray:
    """Encode strings as fixed-length ASCII after checking them against ``allowed``."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = np.array([v.decode("ascii") if isinstance(v, bytes) else v for v in arr.tolist()], dtype=str)
    elif arr.dtype.kind == "S":
        arr = np.char.decode(arr, "ascii")
    elif arr.size and arr.dtype.kind != "U":
        raise ValueError(f"batch[{key!r}] must hold strings, got dtype {arr.dtype}")
    arr = arr.astype(str)
    bad = sorted(set(np.unique(arr).tolist()) - set(allowed))
    if bad:
        raise ValueError(f"batch[{key!r}] has invalid values {bad}; allowed: {list(allowed)}")
    return arr.astype(f"S{width}")


class StoreWriter:
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
        damaged = name.with_name(name.name + ".damaged")
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

    def _validate(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        keys = {"images", "label", "kind", "subclass", "id"}
        if self.feature_dtype is not None:
            keys |= {"features", "feature_flag"}
        if self.truth_dtype is not None:
            keys.add("truth")
        missing, extra = sorted(keys - batch.keys()), sorted(batch.keys() - keys)
        if missing or extra:
            raise ValueError(f"batch keys: missing {missing}, unexpected {extra}")
        images = np.asarray(batch["images"])
        k = images.shape[0] if images.ndim else 0
        if images.shape != (k, *self.image_shape) or images.dtype != np.uint8:
            raise ValueError(
                f"batch['images'] must be uint8 of shape (k, "
                f"{', '.join(map(str, self.image_shape))}), got {images.dtype} "
                f"{images.shape}"
            )
        if self.n_written + self._pending_rows + k > self.n_total:
            raise ValueError(
                f"batch of {k} rows overflows the store: {self.n_written + self._pending_rows} of "
                f"{self.n_total} rows already appended"
            )
        out = {"images": images}
        for key in keys - {"images"}:
            arr = np.asarray(batch[key])
            if arr.shape != (k,):
                raise ValueError(f"batch[{key!r}] must have shape ({k},), got {arr.shape}")
            out[key] = arr
        label = out["label"]
        if label.dtype.kind not in "iub" or not np.isin(label, (-1, 0, 1)).all():
            raise ValueError("batch['label'] must hold integers -1, 0 or 1")
        out["label"] = label.astype(np.int8)
        if "feature_flag" in out:
            if out["feature_flag"].dtype.kind not in "iub":
                raise ValueError("batch['feature_flag'] must hold integers")
            out["feature_flag"] = out["feature_flag"].astype(np.int16)
        out["kind"] = _to_choice(out["kind"], KINDS, 5, "kind")
        out["subclass"] = _to_choice(out["subclass"], SUBCLASSES, 1, "subclass")
        ids = out["id"]
        if ids.dtype.kind == "S":
            ids = np.char.decode(ids, "utf-8")
        encoded = [str(i).encode("utf-8") for i in ids.tolist()]
        too_long = [i.decode("utf-8") for i in encoded if len(i) > self.id_width]
        if too_long:
            raise ValueError(
                f"batch['id'] has identifiers longer than {self.id_width} bytes, e.g. {too_long[0]!r}; "
                "pass a larger id_width"
            )
        out["id"] = np.asarray(encoded, dtype=f"S{self.id_width}")
        for key, dtype in (("features", self.feature_dtype), ("truth", self.truth_dtype)):
            if dtype is not None:
                if out[key].dtype.names != dtype.names:
                    raise ValueError(
                        f"batch[{key!r}] columns {out[key].dtype.names} differ from the store's {dtype.names}"
                    )
                out[key] = out[key].astype(dtype)
        return out

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
        data = self._validate(batch)
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

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._file is None else f"{self.n_written}/{self.n_total} rows"
        return f"StoreWriter({str(self.path)!r}, {state})"


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


class Store:
    """Read-only access to a finished store.

    The file is checked when the object is made; the HDF5 handle itself is opened on first
    use in each process, and only the path travels when the object is pickled, so a ``Store``
    can be handed to DataLoader workers or Dask tasks.

    Parameters
    ----------
    path : path-like
        Store file.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not HDF5, not a store of a supported schema version, or
        incomplete; the message names the file and the problem.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._handle: h5py.File | None = None
        self._pid: int | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._attrs, self._n, self._chunk_rows, self._datasets = self._inspect()

    # -- opening -----------------------------------------------------------------------------

    def _inspect(self) -> tuple[dict[str, Any], int, int, frozenset[str]]:
        path = self._path
        if not path.exists():
            hint = ""
            if partial_path(path).exists():
                hint = (
                    f"; an incomplete {partial_path(path).name} exists, rerun the command "
                    "with --resume to finish it"
                )
            raise InputError(f"{path}: store file not found{hint}")
        if path.is_dir():
            raise InputError(f"{path}: is a folder, expected an HDF5 store file")
        if not h5py.is_hdf5(path):
            raise InputError(f"{path}: not an HDF5 file (expected a {FORMAT} file)")
        try:
            with h5py.File(path, "r") as f:
                attrs = {key: _decode_attr(f.attrs[key]) for key in f.attrs}
                datasets = frozenset(f.keys())
                chunks = f["images"].chunks if "images" in f else None
        except OSError as exc:
            raise InputError(f"{path}: cannot read the HDF5 file ({exc})") from exc
        fmt = attrs.get("format")
        if fmt != FORMAT:
            found = "no 'format' attribute" if fmt is None else f"format {fmt!r}"
            raise InputError(f"{path}: not a {FORMAT} file ({found})")
        version = attrs.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InputError(
                f"{path}: store schema version {version} is not supported "
                f"(this version of deepshadows reads {SCHEMA_VERSION})"
            )
        if not attrs.get("complete", False):
            raise InputError(
                f"{path}: incomplete store ({attrs.get('n_written')} of "
                f"{attrs.get('n_total')} rows written, not finalized)"
            )
        missing = [name for name in _REQUIRED if name not in datasets]
        if missing:
            raise InputError(f"{path}: store lacks dataset(s) {', '.join(missing)}")
        n = int(attrs.get("n_total", 0))
        return attrs, n, int(chunks[0]) if chunks else _CHUNK_ROWS, datasets

    def _file(self) -> h5py.File:
        """Return this process's open handle, opening it on first use."""
        if self._handle is None or self._pid != os.getpid():
            # A handle inherited through fork is dropped, never shared between processes.
            self._handle = h5py.File(self._path, "r", rdcc_nbytes=_CACHE_BYTES)
            self._pid = os.getpid()
        return self._handle

    def close(self) -> None:
        """Close the HDF5 handle of this process (it is reopened on the next read)."""
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None
        self._pid = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self._path,
            "attrs": self._attrs,
            "n": self._n,
            "chunk_rows": self._chunk_rows,
            "datasets": self._datasets,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._path = state["path"]
        self._attrs = state["attrs"]
        self._n = state["n"]
        self._chunk_rows = state["chunk_rows"]
        self._datasets = state["datasets"]
        self._handle = None
        self._pid = None
        self._cache = {}

    def __repr__(self) -> str:
        return f"Store({str(self._path)!r}, n={self._n})"

    # -- metadata ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path

    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes as plain Python values (JSON mappings and lists decoded)."""
        return dict(self._attrs)

    @property
    def config(self) -> dict[str, Any]:
        """Configuration the store was made with (empty if none was recorded)."""
        config = self._attrs.get("config")
        return dict(config) if isinstance(config, dict) else {}

    @property
    def provenance(self) -> dict[str, Any]:
        """Versions, platform and time of creation."""
        prov = self._attrs.get("provenance")
        return dict(prov) if isinstance(prov, dict) else {}

    @property
    def split_seed(self) -> int | None:
        """Seed the splits were drawn with, or None when they were given."""
        seed = self._attrs.get("split_seed", -1)
        return None if seed is None or int(seed) < 0 else int(seed)

    @property
    def has_features(self) -> bool:
        """Whether the store holds a ``features`` table."""
        return "features" in self._datasets

    @property
    def has_truth(self) -> bool:
        """Whether the store holds a ``truth`` table."""
        return "truth" in self._datasets

    def __len__(self) -> int:
        return self._n

    def _column(self, name: str, convert: Any = None) -> np.ndarray:
        if name not in self._cache:
            values = self._file()[name][:]
            self._cache[name] = values if convert is None else convert(values)
        return self._cache[name].copy()

    @property
    def labels(self) -> np.ndarray:
        """Label per row (int8, shape (n,)): 1 = LSBG, 0 = artifact, -1 = unknown."""
        return self._column("label", lambda a: a.astype(np.int8))

    @property
    def kinds(self) -> np.ndarray:
        """Kind per row (str, shape (n,)): ``"lsbg"``, ``"type2"``, ``"type1"`` or ``""``."""
        return self._column("kind", lambda a: a.astype(str))

    @property
    def subclasses(self) -> np.ndarray:
        """Artifact subclass per row (str, shape (n,)): ``"A"`` .. ``"F"`` or ``""``."""
        return self._column("subclass", lambda a: a.astype(str))

    @property
    def ids(self) -> np.ndarray:
        """Cutout identifier per row (str, shape (n,))."""
        return self._column("id", lambda a: np.char.decode(a.astype(bytes), "utf-8"))

    @property
    def splits(self) -> np.ndarray:
        """Split per row (str, shape (n,)): ``"train"``, ``"val"``, ``"test"`` or ``""``."""
        return self._column("split", lambda a: a.astype(str))

    @property
    def feature_flags(self) -> np.ndarray:
        """Flag of the feature measurement per row (int16, shape (n,))."""
        self._require("feature_flag", "features")
        return self._column("feature_flag")

    def _require(self, name: str, what: str) -> None:
        if name not in self._datasets:
            raise InputError(f"{self._path}: store has no {what} (dataset '{name}' absent)")

    # -- rows --------------------------------------------------------------------------------

    def indices(self, split: str | None = None) -> np.ndarray:
        """Return the sorted row indices of a split.

        Parameters
        ----------
        split : {"train", "val", "test"} or None, optional
            Split name; None selects every row.

        Returns
        -------
        ndarray of shape (k,), int64
            Row indices in increasing order.

        Raises
        ------
        deepshadows.errors.InputError
            If the split name is unknown or the split has no rows.
        """
        if split is None:
            return np.arange(self._n, dtype=np.int64)
        if split not in SPLITS[:3]:
            raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS[:3])}")
        idx = np.flatnonzero(self._column("split", lambda a: a.astype(str)) == split)
        if idx.size == 0:
            raise InputError(f"{self._path}: store has no rows in split {split!r}")
        return idx.astype(np.int64)

    def _check_indices(self, indices: Any) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"indices must be a one-dimensional integer array, got {idx.dtype} {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"row indices must lie in [0, {self._n}), got [{idx.min()}, {idx.max()}]")
        return idx

    def read_images(self, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Read cutouts by row.

        Parameters
        ----------
        indices : array-like of int, optional
            Rows to read, in any order and with repeats; None reads every row.

        Returns
        -------
        ndarray of shape (k, H, W, C), uint8
            The cutouts in the requested order.
        """
        ds = self._file()["images"]
        if indices is None:
            return ds[:]
        idx = self._check_indices(indices)
        if idx.size == 0:
            return np.empty((0, *ds.shape[1:]), dtype=np.uint8)
        rows, inverse = np.unique(idx, return_inverse=True)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        if hi - lo <= 4 * rows.size:
            # A dense selection is cheaper to read as one slab than point by point.
            data = ds[lo:hi][rows - lo]
        else:
            data = ds[rows]
        return data[inverse.ravel()]

    def _table(self, name: str, what: str) -> Table:
        self._require(name, what)
        return Table(self._file()[name][:])

    def features_table(self) -> Table:
        """Return the ``features`` columns as a table with one row per store row.

        Raises
        ------
        deepshadows.errors.InputError
            If the store has no features.
        """
        return self._table("features", "features")

    def truth_table(self) -> Table:
        """Return the simulation's ``truth`` columns as a table with one row per store row.

        Raises
        ------
        deepshadows.errors.InputError
            If the store has no truth table.
        """
        return self._table("truth", "truth table")

    def iter_batches(
        self,
        split: str | None = None,
        *,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int | None = None,
        buffer_rows: int = 4096,
        raw: bool = False,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Iterate over a split in batches of network input, reading chunk by chunk.

        Rows are read as whole HDF5 chunks, so memory holds at most about ``buffer_rows`` plus
        one chunk of cutouts whatever the size of the file. With ``shuffle`` the chunks are
        visited in random order and rows are shuffled within the in-memory buffer.

        Parameters
        ----------
        split : {"train", "val", "test"} or None, optional
            Split to iterate over; None for every row.
        batch_size : int, optional
            Rows per batch; the last batch may be smaller.
        shuffle : bool, optional
            Whether to shuffle the order of rows.
        seed : int or None, optional
            Seed of the shuffle; the same seed gives the same order.
        buffer_rows : int, optional
            Rows held in memory for shuffling (at least one batch is always held).
        raw : bool, optional
            Yield the cutouts as stored, uint8 of shape (B, H, W, C), instead of network input.

        Yields
        ------
        x : ndarray of shape (B, C, H, W), float32
            Cutouts scaled to [0, 1] (see :func:`to_float`); with ``raw``, uint8 (B, H, W, C).
        y : ndarray of shape (B,), int8
            Labels.
        idx : ndarray of shape (B,), int64
            Row indices.
        """
        if int(batch_size) < 1:
            raise InputError(f"--batch-size must be at least 1, got {batch_size}")
        batch_size = int(batch_size)
        idx = self.indices(split)
        labels = self._column("label")
        rng = np.random.default_rng(seed) if shuffle else None
        chunk_of = idx // self._chunk_rows
        chunks, starts = np.unique(chunk_of, return_index=True)
        bounds = np.append(starts, idx.size)
        order = np.arange(chunks.size) if rng is None else rng.permutation(chunks.size)
        target = max(batch_size, int(buffer_rows)) if rng is not None else batch_size
        ds = self._file()["images"]
        convert = _copy if raw else to_float
        buf_img: list[np.ndarray] = []
        buf_idx: list[np.ndarray] = []
        held = 0
        for c in order:
            rows = idx[bounds[c] : bounds[c + 1]]
            lo = int(chunks[c]) * self._chunk_rows
            slab = ds[lo : min(lo + self._chunk_rows, self._n)]
            buf_img.append(slab[rows - lo])
            buf_idx.append(rows)
            held += rows.size
            if held >= target:
                images, rows_held = np.concatenate(buf_img), np.concatenate(buf_idx)
                if rng is not None:
                    perm = rng.permutation(rows_held.size)
                    images, rows_held = images[perm], rows_held[perm]
                n_out = rows_held.size - rows_held.size % batch_size
                for s in range(0, n_out, batch_size):
                    sel = rows_held[s : s + batch_size]
                    yield convert(images[s : s + batch_size]), labels[sel], sel
                buf_img, buf_idx = [images[n_out:]], [rows_held[n_out:]]
                held = rows_held.size - n_out
        if held:
            images, rows_held = np.concatenate(buf_img), np.concatenate(buf_idx)
            if rng is not None:
                perm = rng.permutation(rows_held.size)
                images, rows_held = images[perm], rows_held[perm]
            for s in range(0, rows_held.size, batch_size):
                sel = rows_held[s : s + batch_size]
                yield convert(images[s : s + batch_size]), labels[sel], sel

    # -- overview ----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Return counts and metadata for a quick overview of the store.

        Returns
        -------
        dict
            ``path``, ``n``, ``schema_version``, ``survey`` (from the configuration, or None),
            ``config_keys``, ``image_shape``, ``has_features``, ``has_truth``,
            ``split_fractions``, ``split_seed``, ``labels`` (count per label), ``counts``
            (split -> kind -> count, with ``"unassigned"`` for rows without a split, ``"unknown"``
            for rows without a kind and a ``"total"`` per split) and ``subclasses`` (count per
            artifact subclass).
        """
        kinds = np.where(self.kinds == "", "unknown", self.kinds)
        splits = np.where(self.splits == "", "unassigned", self.splits)
        counts: dict[str, dict[str, int]] = {}
        for name in [s for s in (*SPLITS[:3], "unassigned") if (splits == s).any()]:
            in_split = kinds[splits == name]
            values, n = np.unique(in_split, return_counts=True)
            counts[name] = {str(v): int(c) for v, c in zip(values, n, strict=True)}
            counts[name]["total"] = int(in_split.size)
        subclasses = self.subclasses
        sub_values, sub_n = np.unique(subclasses[subclasses != ""], return_counts=True)
        lab_values, lab_n = np.unique(self.labels, return_counts=True)
        config = self.config
        return {
            "path": str(self._path),
            "n": self._n,
            "schema_version": self._attrs.get("schema_version"),
            "survey": config.get("survey", self._attrs.get("survey")),
            "config_keys": sorted(config),
            "image_shape": tuple(int(s) for s in self._file()["images"].shape[1:]),
            "has_features": self.has_features,
            "has_truth": self.has_truth,
            "split_fractions": self._attrs.get("split_fractions"),
            "split_seed": self.split_seed,
            "labels": {int(v): int(c) for v, c in zip(lab_values, lab_n, strict=True)},
            "counts": counts,
            "subclasses": {str(v): int(c) for v, c in zip(sub_values, sub_n, strict=True)},
        }


def open_store(path: str | os.PathLike[str]) -> Store:
    """Open a finished store for reading.

    Parameters
    ----------
    path : path-like
        Store file.

    Returns
    -------
    Store
        The store.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not a store, of an unsupported schema or incomplete.
    """
    return Store(path)
