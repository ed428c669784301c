"""Matching a label table to a store's rows: by id, or by sky position within a radius."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepshadows.data.label_tables import DEC_COLUMNS, ID_COLUMNS, RA_COLUMNS, LabelTable
from deepshadows.errors import InputError

if TYPE_CHECKING:
    from deepshadows.store.reader import Store

__all__ = ["match_labels", "store_positions"]


def store_positions(store: Store) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the sky position of every row of a store, where the store holds one.

    Looked for in this order: the ``ra`` and ``dec`` columns of the ``truth`` table (a fetched
    store), of the ``features`` table, and the per-row ``ra`` and ``dec`` columns that
    :func:`deepshadows.data.npz.import_npz` keeps in the store's configuration (``columns``).

    Parameters
    ----------
    store : deepshadows.store.reader.Store
        The store.

    Returns
    -------
    tuple of ndarray of shape (n,), float64, or None
        ``(ra, dec)`` in degrees, one per row; None when the store holds no positions.
    """
    for has, read in ((store.has_truth, store.truth_table), (store.has_features, store.features_table)):
        if has:
            table = read()
            if "ra" in table.colnames and "dec" in table.colnames:
                return np.asarray(table["ra"], dtype=np.float64), np.asarray(table["dec"], dtype=np.float64)
    columns = store.config.get("columns")
    if isinstance(columns, Mapping) and "ra" in columns and "dec" in columns:
        try:
            ra = np.asarray(columns["ra"], dtype=np.float64)
            dec = np.asarray(columns["dec"], dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if ra.shape == dec.shape == (len(store),):
            return ra, dec
    return None


def match_labels(
    table: LabelTable | Mapping[str, int],
    store_ids: Sequence[str] | np.ndarray,
    *,
    ra: np.ndarray | None = None,
    dec: np.ndarray | None = None,
    match_radius_arcsec: float | None = None,
    target: str = "the store",
) -> tuple[np.ndarray, np.ndarray]:
    """Return the store rows and classes of the objects of a label table.

    Parameters
    ----------
    table : LabelTable or mapping of str to int
        The labels (a mapping is read as id to class).
    store_ids : sequence of str
        Id of every store row.
    ra, dec : ndarray of shape (n,), optional
        Position of every store row in degrees (see :func:`store_positions`); needed to match by
        position.
    match_radius_arcsec : float, optional
        Match by position instead of id: each table row goes to its nearest store row, which
        must lie within this radius.
    target : str, optional
        How messages name the store.

    Returns
    -------
    rows : ndarray of shape (k,), int64
        Store rows, in table order; a store row matched by two table rows with the same label
        is returned once.
    classes : ndarray of shape (k,), int64
        Class of each row: 1 = LSBG, 0 = artifact.

    Raises
    ------
    deepshadows.errors.InputError
        If ids are not in the store (the message counts them and names the first few); when
        matching by position, if a position is missing on either side, no table row lies within
        the radius (the message gives the closest separation) or only some do; or if two table
        rows go to the same store row with different labels (the message names both).
    """
    if not isinstance(table, LabelTable):
        table = LabelTable(Path("labels"), list(table), np.array(list(table.values()), dtype=np.int64))
    entries, rows = _match(table, store_ids, ra, dec, match_radius_arcsec, target)
    return rows, table.labels[entries].astype(np.int64)


def _match(
    table: LabelTable,
    store_ids: Sequence[str] | np.ndarray,
    ra: np.ndarray | None,
    dec: np.ndarray | None,
    radius: float | None,
    target: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the table entries kept and their store rows (see :func:`match_labels`)."""
    ids = np.asarray(store_ids).astype(str)
    if len(table) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if radius is None:
        rows = _rows_by_id(table, ids, target)
    else:
        rows = _rows_by_position(table, ra, dec, float(radius), target)
    return _first_of_each(table, rows, ids, target)


def _rows_by_id(table: LabelTable, store_ids: np.ndarray, target: str) -> np.ndarray:
    if table.id_column is None:
        raise InputError(
            f"{table.path}: no id column (looked for {', '.join(ID_COLUMNS)}, any case); "
            "match it by position with a match radius"
        )
    row_of: dict[str, int] = {}
    for row, ident in enumerate(store_ids.tolist()):
        row_of.setdefault(ident, row)
    missing = [ident for ident in table.ids if ident not in row_of]
    if missing:
        shown = ", ".join(repr(k) for k in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(f"{table.path}: {len(missing)} of {len(table)} id(s) not in {target}: {shown}")
    return np.array([row_of[ident] for ident in table.ids], dtype=np.int64)


def _rows_by_position(
    table: LabelTable, ra: np.ndarray | None, dec: np.ndarray | None, radius: float, target: str
) -> np.ndarray:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    if not (math.isfinite(radius) and radius > 0):
        raise InputError(f"match radius: must be a positive number of arcseconds, got {radius:g}")
    if table.ra is None or table.dec is None:
        raise InputError(
            f"{table.path}: no ra, dec columns (looked for {', '.join(RA_COLUMNS)} and "
            f"{', '.join(DEC_COLUMNS)}, any case); needed to match by position"
        )
    if ra is None or dec is None:
        raise InputError(f"{target} holds no ra, dec positions; match the labels by id instead")
    bad = np.flatnonzero(~(np.isfinite(table.ra) & np.isfinite(table.dec)))
    if bad.size:
        raise InputError(f"{table.path}: {table.describe(int(bad[0]))}: ra or dec is empty")
    known = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec))
    if known.size == 0:
        raise InputError(f"{target} holds no finite ra, dec position")
    catalog = SkyCoord(ra[known] * u.deg, dec[known] * u.deg)
    nearest, separation, _ = SkyCoord(table.ra * u.deg, table.dec * u.deg).match_to_catalog_sky(catalog)
    arcsec = np.atleast_1d(separation.to_value(u.arcsec))
    far = np.flatnonzero(arcsec > radius)
    if far.size == len(table):
        k = int(np.argmin(arcsec))
        raise InputError(
            f"{table.path}: no row lies within {radius:g} arcsec of a position in {target}; the "
            f"closest is {arcsec[k]:.3g} arcsec away ({table.describe(k)})"
        )
    if far.size:
        k = int(far[0])
        raise InputError(
            f"{table.path}: {far.size} of {len(table)} row(s) lie farther than {radius:g} arcsec from "
            f"every position in {target}; first {table.describe(k)}, {arcsec[k]:.3g} arcsec away"
        )
    return known[np.atleast_1d(nearest)].astype(np.int64)


def _first_of_each(
    table: LabelTable, rows: np.ndarray, store_ids: np.ndarray, target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the first table entry of each store row and its row; refuse entries that disagree."""
    first: dict[int, int] = {}
    keep: list[int] = []
    for k, row in enumerate(rows.tolist()):
        j = first.setdefault(row, k)
        if j == k:
            keep.append(k)
        elif table.labels[j] != table.labels[k]:
            raise InputError(
                f"{table.path}: {table.describe(j)} and {table.describe(k)} both match "
                f"{target}'s id {store_ids[row]!r} but are labelled {table.labels[j]} and "
                f"{table.labels[k]}"
            )
    picked = np.array(keep, dtype=np.int64)
    return picked, rows[picked]
