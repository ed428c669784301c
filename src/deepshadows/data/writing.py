"""Writing imported rows into a store, block by block, with their splits and configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import check_writable, partial_path
from deepshadows._provenance import provenance
from deepshadows.data.fits import feature_dtype
from deepshadows.errors import InputError
from deepshadows.store.reader import DEFAULT_ID_WIDTH, StoreWriter
from deepshadows.store.splits import SPLIT_NAMES, make_splits

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_BATCH = 256

#: Reads rows [start, stop): their cutouts, features and flags (None without features), and
#: optionally a fourth item, their positions (None where not kept).
_BlockReader = Callable[[int, int], tuple[np.ndarray | None, ...]]

#: Reads one row's source: its cutout; or its cutout, features and flag, and (ra, dec) with positions.
_RowReader = Callable[[Any], Any]

#: The ``truth`` table of imported rows with positions: where the cutout is centred, in degrees.
_POSITION_DTYPE = np.dtype([("ra", np.float64), ("dec", np.float64)])


def _import_cutouts(
    sources: Sequence[Any],
    ids: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    read_row: _RowReader,
    with_features: bool,
    settings: Mapping[str, Any],
    out: str | Path,
    with_positions: bool = False,
    kinds: Sequence[str] | None,
    subclasses: Sequence[str] | None,
    splits: Sequence[str] | None,
    overwrite: bool,
    seed: int,
    fractions: Sequence[float],
    config: Mapping[str, Any] | None,
    truth: np.ndarray | None = None,
) -> Path:
    """Write a store of imported cutouts, one read by ``read_row`` per source.

    The store's configuration is ``settings`` (the source and how its cutouts were made, with
    ``image_size``), then the split seed and fractions, then ``config``. ``truth`` (a structured
    array, one record per source: the catalogue's columns) becomes the store's ``truth`` table;
    with ``with_positions`` each row's (ra, dec) read from its file goes there too, unless the
    catalogue gives ra and dec itself, as in fetched stores.
    """
    out = check_writable(out, overwrite=overwrite)

    def read_block(
        start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        rows = [read_row(source) for source in sources[start:stop]]
        if not with_features:
            return np.stack(rows), None, None, None
        return (
            np.stack([r[0] for r in rows]),
            np.stack([r[1] for r in rows]),
            np.array([r[2] for r in rows], dtype=np.int16),
            np.array([tuple(r[3]) for r in rows], dtype=_POSITION_DTYPE) if with_positions else None,
        )

    return _write_rows(
        len(sources),
        ids,
        labels,
        read_block=read_block,
        out=out,
        with_features=with_features,
        with_positions=with_positions,
        kinds=kinds,
        subclasses=subclasses,
        splits=splits,
        image_size=int(settings["image_size"]),
        overwrite=overwrite,
        seed=seed,
        fractions=fractions,
        config={**settings, "seed": int(seed), "split_fractions": list(fractions), **(config or {})},
        truth=truth,
    )


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
    with_positions: bool = False,
    overwrite: bool,
    seed: int,
    fractions: Sequence[float],
    config: Mapping[str, Any],
    truth: np.ndarray | None = None,
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
    if truth is not None and (truth.dtype.names is None or truth.shape != (n,)):
        raise ValueError(f"truth must be a structured array of {n} rows, got {truth.dtype} {truth.shape}")
    truth_dtype = _truth_dtype(truth, with_positions)
    kind_arr = np.asarray(kinds if kinds is not None else np.where(label_arr == 1, "lsbg", ""), dtype=str)
    sub_arr = np.asarray(subclasses if subclasses is not None else [""] * n, dtype=str)
    if splits is not None:
        split_arr = np.asarray(splits, dtype=str)
        split_seed: int | None = None
        recorded = [float(np.mean(split_arr == s)) for s in SPLIT_NAMES]
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
        truth_dtype=truth_dtype,
        attrs=attrs,
        image_shape=(size, size, 3),
        overwrite=overwrite,
        id_width=max([DEFAULT_ID_WIDTH, *(len(str(i).encode("utf-8")) for i in ids)]),
    )
    try:
        for start in range(0, n, _BATCH):
            stop = min(start + _BATCH, n)
            images, features, flags, *rest = read_block(start, stop)
            positions = rest[0] if rest else None
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
            if truth_dtype is not None:
                batch["truth"] = _truth_block(
                    truth_dtype, None if truth is None else truth[start:stop], positions
                )
            writer.append(batch)
        return writer.finalize(split_arr, split_fractions=recorded, split_seed=split_seed)
    except BaseException:
        writer.close()
        partial_path(out).unlink(missing_ok=True)
        raise


def _truth_dtype(truth: np.ndarray | None, with_positions: bool) -> np.dtype | None:
    """Return the ``truth`` table's dtype: the catalogue's columns, led by ra, dec from the files."""
    if not with_positions or (truth is not None and {"ra", "dec"} <= set(truth.dtype.names or ())):
        return None if truth is None else truth.dtype
    if truth is None:
        return _POSITION_DTYPE
    others = [(name, truth.dtype[name]) for name in truth.dtype.names if name not in ("ra", "dec")]
    return np.dtype([*_POSITION_DTYPE.descr, *others])


def _truth_block(dtype: np.dtype, catalogue: np.ndarray | None, positions: np.ndarray | None) -> np.ndarray:
    """Return one block of the ``truth`` table from the catalogue's rows and the files' positions."""
    n = len(catalogue) if catalogue is not None else len(positions)  # type: ignore[arg-type]
    block = np.zeros(n, dtype=dtype)
    if catalogue is not None:
        for name in catalogue.dtype.names:
            if name in dtype.names:
                block[name] = catalogue[name]
    if positions is not None and not (catalogue is not None and "ra" in catalogue.dtype.names):
        block["ra"], block["dec"] = positions["ra"], positions["dec"]
    return block
