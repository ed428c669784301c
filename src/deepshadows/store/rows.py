"""Checking a block of rows before a store writer appends it.

:func:`check_batch` verifies the keys, shapes, dtypes and values of the rows handed to
:meth:`deepshadows.store.writer.StoreWriter.append` and converts them to the types the
store's datasets hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from deepshadows.store.schema import KINDS, SUBCLASSES, _to_choice

__all__ = ["check_batch"]


def check_batch(
    batch: Mapping[str, Any],
    *,
    image_shape: tuple[int, int, int],
    feature_dtype: np.dtype | None,
    truth_dtype: np.dtype | None,
    id_width: int,
    n_appended: int,
    n_total: int,
) -> dict[str, np.ndarray]:
    """Check a block of rows against a store's layout and convert it to the store's types.

    Parameters
    ----------
    batch : mapping of str to array-like
        ``images`` (k, H, W, C) uint8, ``label`` (k,) integers in {-1, 0, 1}, ``kind`` and
        ``subclass`` (k,) strings, ``id`` (k,) strings, and, when the store has them,
        ``features`` (k,) structured, ``feature_flag`` (k,) integers and ``truth`` (k,)
        structured.
    image_shape : tuple of int
        Shape (H, W, C) of one cutout in the store.
    feature_dtype : numpy.dtype or None
        Structured dtype of the store's ``features`` columns, or None for a store without them.
    truth_dtype : numpy.dtype or None
        Structured dtype of the store's ``truth`` columns, or None.
    id_width : int
        Bytes reserved per identifier (UTF-8).
    n_appended : int
        Rows already appended to the store, written or still waiting for a whole chunk.
    n_total : int
        Number of rows the finished store holds.

    Returns
    -------
    dict of str to ndarray
        The same keys, with ``label`` as int8, ``feature_flag`` as int16, ``kind``,
        ``subclass`` and ``id`` as fixed-width byte strings, and ``features`` and ``truth`` cast
        to the store's dtypes.

    Raises
    ------
    ValueError
        If keys, shapes, dtypes or values do not fit the store, or the rows overflow it.
    """
    keys = {"images", "label", "kind", "subclass", "id"}
    if feature_dtype is not None:
        keys |= {"features", "feature_flag"}
    if truth_dtype is not None:
        keys.add("truth")
    missing, extra = sorted(keys - batch.keys()), sorted(batch.keys() - keys)
    if missing or extra:
        raise ValueError(f"batch keys: missing {missing}, unexpected {extra}")
    images = np.asarray(batch["images"])
    k = images.shape[0] if images.ndim else 0
    if images.shape != (k, *image_shape) or images.dtype != np.uint8:
        raise ValueError(
            f"batch['images'] must be uint8 of shape (k, "
            f"{', '.join(map(str, image_shape))}), got {images.dtype} "
            f"{images.shape}"
        )
    if n_appended + k > n_total:
        raise ValueError(
            f"batch of {k} rows overflows the store: {n_appended} of {n_total} rows already appended"
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
    too_long = [i.decode("utf-8") for i in encoded if len(i) > id_width]
    if too_long:
        raise ValueError(
            f"batch['id'] has identifiers longer than {id_width} bytes, e.g. {too_long[0]!r}; "
            "pass a larger id_width"
        )
    out["id"] = np.asarray(encoded, dtype=f"S{id_width}")
    for key, dtype in (("features", feature_dtype), ("truth", truth_dtype)):
        if dtype is not None:
            if out[key].dtype.names != dtype.names:
                raise ValueError(
                    f"batch[{key!r}] columns {out[key].dtype.names} differ from the store's {dtype.names}"
                )
            out[key] = out[key].astype(dtype)
    return out
