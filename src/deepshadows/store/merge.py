"""Merging stores: several data sets (e.g. simulations of two surveys) as one store.

A network meant for the imaging of more than one survey is trained on a store that holds the
simulations of each. :func:`merge_stores` concatenates finished stores row by row: every row
keeps its cutout, labels, identifier and split, so the test rows of each source stay test rows
and a model trained on the merged store can be scored on any source's test split without
leakage. The merged store records its sources (file name, survey, row count and configuration)
in its ``config`` attribute.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from deepshadows._io import partial_path
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.store.reader import DEFAULT_ID_WIDTH, Store, StoreWriter, open_store
from deepshadows.store.splits import SPLIT_NAMES

__all__ = ["merge_stores"]

_BLOCK = 1024


def _shared_columns(stores: Sequence[Store], name: str) -> np.dtype | None:
    """Dtype of the ``features`` or ``truth`` table when every store has it with the same columns."""
    has = [store.has_features if name == "features" else store.has_truth for store in stores]
    if not all(has):
        return None
    tables = [_structured(store, name) for store in stores]
    names = {table.dtype.names for table in tables}
    return tables[0].dtype if len(names) == 1 else None


def _structured(store: Store, name: str) -> np.ndarray:
    table = store.features_table() if name == "features" else store.truth_table()
    return np.asarray(table.as_array())


def _merged_ids(stores: Sequence[Store]) -> list[np.ndarray]:
    """Return the identifiers per source, prefixed with its file stem when two sources share one."""
    ids = [np.asarray(store.ids, dtype=str) for store in stores]
    pooled = np.concatenate(ids)
    if np.unique(pooled).size == pooled.size:
        return ids
    stems = [store.path.stem for store in stores]
    if len(set(stems)) != len(stems):
        stems = [f"{i}-{stem}" for i, stem in enumerate(stems)]
    return [np.char.add(f"{stem}:", part) for stem, part in zip(stems, ids, strict=True)]


def _merged_survey(stores: Sequence[Store]) -> str | None:
    surveys = [store.config.get("survey") for store in stores]
    if any(survey is None for survey in surveys):
        return None
    unique = list(dict.fromkeys(str(survey) for survey in surveys))
    return unique[0] if len(unique) == 1 else "+".join(unique)


def merge_stores(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Concatenate finished stores into one, each row keeping its labels, id and split.

    Parameters
    ----------
    paths : sequence of path-like
        Two or more stores with cutouts of the same shape.
    out : path-like
        The merged store; written to ``<out>.partial`` and renamed when complete.
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    progress : bool, optional
        Show a progress bar over the rows.

    Returns
    -------
    pathlib.Path
        The merged store.

    Notes
    -----
    ``features`` (and ``truth``) are kept when every source has them with the same columns,
    and dropped otherwise. Identifiers are kept as they are unless two sources share one; then
    every identifier is prefixed with its source's file name (``des:des-0-0000001``). The
    ``config`` attribute holds ``survey`` (the sources' surveys joined by ``+`` when they
    differ, e.g. ``des+ls-dr10``), ``image_size`` and ``sources``: per source its file name,
    survey, number of rows and its own configuration. The split fractions recorded are those
    of the merged rows; the split seed is none, as the splits were not drawn here.

    Raises
    ------
    deepshadows.errors.InputError
        For fewer than two stores, a store given twice, an unreadable store (naming the file),
        cutouts of different shapes, or an existing ``out`` without ``overwrite``.
    """
    sources = [Path(p) for p in paths]
    if len(sources) < 2:
        raise InputError(f"merging needs at least two stores, got {len(sources)}")
    resolved = [p.resolve() for p in sources]
    if len(set(resolved)) != len(resolved):
        repeated = next(p for p in sources if resolved.count(p.resolve()) > 1)
        raise InputError(f"{repeated}: given more than once")
    out_path = Path(out)
    if out_path.resolve() in resolved:
        raise InputError(f"{out_path}: the merged store cannot be one of its sources")
    stores = [open_store(p) for p in sources]
    try:
        shapes = {store.path.name: store.read_images([0]).shape[1:] for store in stores}
        if len(set(shapes.values())) != 1:
            listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            raise InputError(f"stores hold cutouts of different shapes: {listed}")
        image_shape = next(iter(shapes.values()))
        feature_dtype = _shared_columns(stores, "features")
        truth_dtype = _shared_columns(stores, "truth")
        ids = _merged_ids(stores)
        splits = np.concatenate([store.splits.astype(str) for store in stores])
        n_total = int(splits.size)
        config: dict[str, Any] = {
            "survey": _merged_survey(stores),
            "image_size": int(image_shape[0]),
            "sources": [
                {
                    "file": store.path.name,
                    "survey": store.config.get("survey"),
                    "n": len(store),
                    "config": store.config,
                }
                for store in stores
            ],
        }
        writer = StoreWriter(
            out_path,
            n_total=n_total,
            feature_dtype=feature_dtype,
            truth_dtype=truth_dtype,
            attrs={"config": config, "provenance": provenance()},
            image_shape=image_shape,
            overwrite=overwrite,
            id_width=max(
                [DEFAULT_ID_WIDTH, *(int(np.char.str_len(np.char.encode(i, "utf-8")).max()) for i in ids)]
            ),
        )
        try:
            with tqdm(total=n_total, desc="merge", unit="cutout", disable=not progress) as bar:
                for store, store_ids in zip(stores, ids, strict=True):
                    _append_store(writer, store, store_ids, feature_dtype, truth_dtype, bar)
            fractions = [float(np.mean(splits == name)) for name in SPLIT_NAMES]
            return writer.finalize(splits, split_fractions=fractions, split_seed=None)
        except BaseException:
            writer.close()
            partial_path(out_path).unlink(missing_ok=True)
            raise
    finally:
        for store in stores:
            store.close()


def _append_store(
    writer: StoreWriter,
    store: Store,
    ids: np.ndarray,
    feature_dtype: np.dtype | None,
    truth_dtype: np.dtype | None,
    bar: tqdm,
) -> None:
    """Append every row of ``store`` to ``writer`` in blocks."""
    labels, kinds, subclasses = store.labels, store.kinds, store.subclasses
    features = _structured(store, "features") if feature_dtype is not None else None
    flags = store.feature_flags if feature_dtype is not None else None
    truth = _structured(store, "truth") if truth_dtype is not None else None
    for start in range(0, len(store), _BLOCK):
        rows = np.arange(start, min(start + _BLOCK, len(store)))
        batch: dict[str, np.ndarray] = {
            "images": store.read_images(rows),
            "label": labels[rows],
            "kind": kinds[rows],
            "subclass": subclasses[rows],
            "id": ids[rows],
        }
        if features is not None and flags is not None:
            batch["features"] = features[rows]
            batch["feature_flag"] = flags[rows]
        if truth is not None:
            batch["truth"] = truth[rows]
        writer.append(batch)
        bar.update(rows.size)
