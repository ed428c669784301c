"""What a fetch leaves beside its output: the store from the staged partitions, and the failures.

Files, for an output ``<out>``:

``<out>``
    The store (schema of :mod:`deepshadows.store.reader`), written by
    :class:`~deepshadows.store.reader.StoreWriter`; the ``truth`` table holds where each row came
    from (:data:`POSITION_DTYPE`: catalogue data row, ra, dec).
``<out>.failures.csv``
    Rows not in the store: ``row, id, ra, dec, reason`` (absent when every row was stored),
    written by :func:`deepshadows.failures.write_failures`.
``<out>.failed.<ext>``
    The same rows as the catalogue itself, in its format (``.csv``, ``.fits``, ...): every
    column of the input plus ``reason``, to fetch them again (see :func:`write_failed_catalog`).
``<out>.fetch.json``
    Configuration, client settings, provenance and statistics.
``<out>.parts/``
    Staged partitions while the fetch runs (see :mod:`deepshadows.fetch.staging`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Column

from deepshadows._docs import fill_doc
from deepshadows._io import atomic_path, beside
from deepshadows.data.fits import feature_dtype
from deepshadows.failures import failures_path, write_failures
from deepshadows.fetch.catalog import BadRow, Catalog, CatalogRow, read_table
from deepshadows.fetch.http import FetchStats
from deepshadows.fetch.staging import PartitionStaging
from deepshadows.store.reader import DEFAULT_ID_WIDTH, StoreWriter
from deepshadows.store.splits import make_splits
from deepshadows.tables import TABLE_FORMATS, catalog_format, catalog_suffixes, table_format, write_astropy

__all__ = [
    "POSITION_DTYPE",
    "StoredRows",
    "failed_catalog_path",
    "failures_path",
    "report_path",
    "staging_path",
    "write_failed_catalog",
    "write_failures",
    "write_store",
]

#: Structured dtype of the store's ``truth`` table for fetched rows: where each row came from.
POSITION_DTYPE = np.dtype([("row", np.int64), ("ra", np.float64), ("dec", np.float64)])


@fill_doc
def staging_path(out: str | os.PathLike[str]) -> Path:
    """Return the folder of the staged partitions of a fetch into ``out``: ``<out>.parts``.

    Parameters
    ----------
    %(out_store)s

    Returns
    -------
    pathlib.Path
        ``<out>.parts`` beside the store.
    """
    return beside(out, ".parts")


@fill_doc
def report_path(out: str | os.PathLike[str]) -> Path:
    """Return the file of the configuration, provenance and statistics: ``<out>.fetch.json``.

    Parameters
    ----------
    %(out_store)s

    Returns
    -------
    pathlib.Path
        ``<out>.fetch.json`` beside the store.
    """
    return beside(out, ".fetch.json")


@fill_doc
def failed_catalog_path(out: str | os.PathLike[str], catalog: str | os.PathLike[str]) -> Path:
    """Return the catalogue of the rows a fetch into ``out`` did not store: ``<out>.failed.<ext>``.

    Parameters
    ----------
    %(out_store)s
    catalog : path-like
        The catalogue fetched; ``<ext>`` is its own extension (``csv``, ``ecsv``, ``fits``,
        ``fit``, ``parquet``, ``vot``), ``fits`` for a ``.fits.gz`` file, and ``ecsv`` for a
        file whose format astropy identified otherwise.

    Returns
    -------
    pathlib.Path
        ``<out>.failed.<ext>`` beside the store.
    """
    fmt = catalog_format(catalog) or "ecsv"
    name = Path(catalog).name.lower()
    suffix = next((end for end in TABLE_FORMATS[fmt] if name.endswith(end)), TABLE_FORMATS[fmt][0])
    return beside(out, f".failed{suffix}")


@fill_doc
def write_failed_catalog(
    out: str | os.PathLike[str], cat: Catalog, failures: Sequence[BadRow]
) -> Path | None:
    """Write the catalogue's own rows that are not in the store, in its format, atomically.

    Each row keeps every column of the input, with its type (and, for FITS, the table's
    header keywords), and gains ``reason``; an input column called ``reason`` (any case), such
    as that of an earlier failures catalogue, is replaced. A catalogue without an id column
    gains ``id`` first, holding the data row numbers the store uses as ids, so that fetching
    the file again stores the rows under the same ids. Rows are in catalogue order.

    Parameters
    ----------
    %(out_store)s
    cat : Catalog
        The catalogue fetched.
    failures : sequence of BadRow
        Rows not stored (invalid or failed), in catalogue order.

    Returns
    -------
    pathlib.Path or None
        The file (see :func:`failed_catalog_path`), or None when ``failures`` is empty; a stale
        failures catalogue of an earlier fetch into ``out`` is removed either way.
    """
    path = failed_catalog_path(out, cat.path)
    for end in catalog_suffixes():
        stale = beside(out, f".failed{end}")
        if stale != path:
            stale.unlink(missing_ok=True)
    if not failures:
        path.unlink(missing_ok=True)
        return None
    table = cat.table if cat.table is not None else read_table(cat.path)
    rows = table[[bad.row - 1 for bad in failures]]
    rows.remove_columns([name for name in rows.colnames if name.lower() == "reason"])
    if cat.columns.get("id") is None:
        rows.add_column(Column([bad.ident for bad in failures], name="id"), index=0)
    rows["reason"] = [bad.reason for bad in failures]
    with atomic_path(path) as tmp:
        write_astropy(rows, tmp, table_format(path))
    return path


@dataclass
class StoredRows:
    """What :func:`write_store` wrote.

    Parameters
    ----------
    path : pathlib.Path or None
        The store; None when no row was fetched (and nothing was written).
    n_stored : int
        Rows in the store.
    failures : list of BadRow
        Valid catalogue rows whose download failed, with the reason.
    stats : FetchStats
        Sum of the statistics of every staged partition.
    """

    path: Path | None
    n_stored: int
    failures: list[BadRow]
    stats: FetchStats


def _collect(
    cat: Catalog, bounds: Sequence[tuple[int, int]], staging: PartitionStaging
) -> tuple[list[int], list[BadRow], FetchStats]:
    """Return the fetched rows (positions among the valid rows), the failed ones and the statistics."""
    stats = FetchStats()
    failures: list[BadRow] = []
    kept: list[int] = []
    for k, (start, _) in enumerate(bounds):
        part = staging.read(k)
        stats.add(part.stats)
        for offset, (ok, reason) in enumerate(zip(part.ok.tolist(), part.reasons, strict=True)):
            if ok:
                kept.append(start + offset)
            else:
                row = cat.rows[start + offset]
                failures.append(BadRow(row.row, row.ident, repr(row.ra), repr(row.dec), reason))
    return kept, failures, stats


def _batch(
    rows: Sequence[CatalogRow], images: np.ndarray, features: np.ndarray | None, flags: np.ndarray
) -> dict:
    batch: dict[str, Any] = {
        "images": images,
        "label": np.array([r.label for r in rows], dtype=np.int8),
        "kind": np.array(["lsbg" if r.label == 1 else "" for r in rows]),
        "subclass": np.array([""] * len(rows)),
        "id": np.array([r.ident for r in rows], dtype=object),
        "truth": np.array([(r.row, r.ra, r.dec) for r in rows], dtype=POSITION_DTYPE),
    }
    if features is not None:
        batch["features"] = np.array([tuple(v) for v in features], dtype=feature_dtype())
        batch["feature_flag"] = flags
    return batch


def write_store(
    out: Path,
    cat: Catalog,
    bounds: Sequence[tuple[int, int]],
    staging: PartitionStaging,
    *,
    image_size: int,
    with_features: bool,
    attrs: Mapping[str, Any],
    fractions: Sequence[float],
    seed: int,
    resume: bool,
    overwrite: bool,
) -> StoredRows:
    """Write the fetched rows of the staged partitions into the store, in catalogue order.

    Splits are drawn (stratified by label, ``seed``) when the catalogue has a label column and
    every fetched row is labelled; otherwise they are left unassigned. The writer resumes a
    ``.partial`` store of the same configuration when ``resume`` is set, skipping its rows.

    Parameters
    ----------
    out : pathlib.Path
        The store.
    cat : Catalog
        The catalogue.
    bounds : sequence of (int, int)
        Valid-row range of each partition.
    staging : PartitionStaging
        Every partition, staged.
    image_size : int
        Side of the cutouts.
    with_features : bool
        Whether the partitions hold features.
    attrs : mapping
        Root attributes (``config``, ``provenance`` and others); a ``fetch`` entry with the
        statistics is added.
    fractions : sequence of float
        Split fractions.
    seed : int
        Split seed.
    resume, overwrite : bool
        As for :class:`~deepshadows.store.reader.StoreWriter`.

    Returns
    -------
    StoredRows
    """
    kept, failures, stats = _collect(cat, bounds, staging)
    if not kept:
        return StoredRows(None, 0, failures, stats)
    rows = [cat.rows[i] for i in kept]
    labels = np.array([r.label for r in rows], dtype=np.int8)
    if cat.columns.get("label") and (labels >= 0).all():
        split = make_splits(labels, fractions=fractions, seed=seed)
        split_fractions, split_seed = list(fractions), seed
    else:
        split = np.full(len(rows), "", dtype="S5")
        split_fractions, split_seed = None, None
    fetch_attrs = {
        **dict(attrs.get("fetch", {})),
        "stats": stats.to_dict(),
        "rows": {
            "catalog": cat.n_rows,
            "invalid": len(cat.bad),
            "failed": len(failures),
            "stored": len(rows),
        },
    }
    with StoreWriter(
        out,
        n_total=len(rows),
        feature_dtype=feature_dtype() if with_features else None,
        truth_dtype=POSITION_DTYPE,
        attrs={**attrs, "fetch": fetch_attrs},
        image_shape=(image_size, image_size, 3),
        overwrite=overwrite,
        id_width=max([DEFAULT_ID_WIDTH, *(len(r.ident.encode("utf-8")) for r in rows)]),
        resume=resume,
    ) as writer:
        skip = writer.n_written  # rows a resumed store already holds
        position = 0
        for k, (start, _) in enumerate(bounds):
            part = staging.read(k)
            n = int(part.ok.sum())
            first = max(0, skip - position)
            position += n
            if first >= n:
                continue
            chosen = [cat.rows[i] for i in start + np.flatnonzero(part.ok)[first:]]
            features = None if part.features is None else part.features[first:]
            writer.append(_batch(chosen, part.images[first:], features, part.flags[first:]))
        path = writer.finalize(split, split_fractions=split_fractions, split_seed=split_seed)
    return StoredRows(path, len(rows), failures, stats)
