"""The user's catalogue written back with the prediction columns added (``predict --catalog``).

Each catalogue row is matched to a prediction row by id (the catalogue's id column, or its data
row number without one, as ``fetch`` stores it), or by position within ``match_radius`` arcsec
of the prediction's ``ra``, ``dec`` (nearest neighbour on the sky). Every catalogue row is kept,
in catalogue order, with all of its columns; the prediction columns of unmatched rows are
masked (empty in CSV, NaN or ``TNULL`` in FITS). The catalogue is read by the reader of
``fetch`` (:func:`deepshadows.fetch.read_table`) and held in memory with the predictions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import MaskedColumn, Table

from deepshadows.errors import InputError
from deepshadows.fetch.catalog import catalog_ids, find_column, read_table

__all__ = ["CatalogJoin", "JoinReport", "join_catalog"]

#: Suffix given to a prediction column whose name the catalogue already uses.
CLASH_SUFFIX = "_pred"


@dataclass(frozen=True)
class CatalogJoin:
    """How to add the predictions to a catalogue.

    Parameters
    ----------
    path : path-like
        The catalogue (CSV, ECSV or FITS table; see :func:`deepshadows.fetch.read_catalog`).
    id_column : str, optional
        Its id column; by default the first of ``id``, ``objid``, ``object_id``,
        ``coadd_object_id``, ``name`` (any case), and without any the data row number.
    ra_column, dec_column : str, optional
        Its coordinate columns in degrees, for a match by position.
    match_radius : float, optional
        Match by position within this many arcseconds instead of by id.
    """

    path: str | os.PathLike[str]
    id_column: str | None = None
    ra_column: str | None = None
    dec_column: str | None = None
    match_radius: float | None = None

    def __post_init__(self) -> None:
        if self.match_radius is not None and not float(self.match_radius) > 0:
            raise InputError(f"--match-radius must be a positive number of arcsec, got {self.match_radius}")


@dataclass(frozen=True)
class JoinReport:
    """What :func:`join_catalog` matched.

    Parameters
    ----------
    n_catalog : int
        Catalogue rows (all written).
    matched : int
        Catalogue rows given a prediction.
    unmatched : list of str
        Ids of the catalogue rows left without one (their data row number without an id column).
    unused : int
        Prediction rows matched to no catalogue row.
    renamed : dict
        Prediction columns renamed because the catalogue has a column of that name.
    """

    n_catalog: int
    matched: int
    unmatched: list[str]
    unused: int
    renamed: dict[str, str]

    def describe(self) -> str:
        """One line: matched and unmatched rows, with the first unmatched ids."""
        line = f"matched {self.matched} of {self.n_catalog} catalogue rows"
        if self.unmatched:
            first = ", ".join(self.unmatched[:5]) + (", ..." if len(self.unmatched) > 5 else "")
            line += f"; {len(self.unmatched)} without a prediction ({first})"
        if self.unused:
            line += f"; {self.unused} predictions matched no catalogue row"
        if self.renamed:
            line += "; renamed " + ", ".join(f"{a} -> {b}" for a, b in self.renamed.items())
        return line


def _match_by_id(catalog: Table, path: Path, join: CatalogJoin, predictions: Table) -> np.ndarray:
    id_column = find_column(catalog, path, "id", join.id_column)
    where = {ident: k for k, ident in enumerate(predictions["id"].tolist())}
    return np.array([where.get(ident, -1) for ident in catalog_ids(catalog, id_column)], dtype=np.int64)


def _degrees(column: Any) -> np.ndarray:
    values = np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)
    return np.asarray(values, dtype=np.float64)


def _match_by_position(
    catalog: Table, path: Path, join: CatalogJoin, predictions: Table
) -> tuple[np.ndarray, np.ndarray]:
    from astropy import units as u
    from astropy.coordinates import SkyCoord, match_coordinates_sky

    if "ra" not in predictions.colnames or "dec" not in predictions.colnames:
        raise InputError(
            "--match-radius: the predictions have no ra and dec (the input store has no positions); "
            "match by id instead"
        )
    ra = _degrees(catalog[find_column(catalog, path, "ra", join.ra_column)])
    dec = _degrees(catalog[find_column(catalog, path, "dec", join.dec_column)])
    index = np.full(len(catalog), -1, dtype=np.int64)
    separation = np.full(len(catalog), np.nan)
    ok = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    if len(predictions) == 0 or not ok.any():
        return index, separation
    theirs = SkyCoord(
        np.asarray(predictions["ra"], dtype=float) * u.deg,
        np.asarray(predictions["dec"], dtype=float) * u.deg,
    )
    mine = SkyCoord(ra[ok] * u.deg, dec[ok] * u.deg)
    nearest, sep, _ = match_coordinates_sky(mine, theirs, nthneighbor=1)
    sep_arcsec = sep.to_value(u.arcsec)
    close = sep_arcsec <= float(join.match_radius)  # type: ignore[arg-type]
    index[np.flatnonzero(ok)[close]] = nearest[close]
    separation[np.flatnonzero(ok)[close]] = sep_arcsec[close]
    return index, separation


def join_catalog(
    predictions: Table, join: CatalogJoin, meta: Mapping[str, Any] | None = None
) -> tuple[Table, JoinReport]:
    """Return the catalogue with the prediction columns added, and what was matched.

    Parameters
    ----------
    predictions : astropy.table.Table
        One row per prediction: ``id``, the probabilities, ``label`` and the columns carried
        from the store (``ra``, ``dec`` and ``--columns``).
    join : CatalogJoin
        The catalogue and how to match.
    meta : mapping, optional
        Keywords added to the catalogue's own.

    Returns
    -------
    table : astropy.table.Table
        Every catalogue row and column, then the prediction columns (without ``id``, ``ra``,
        ``dec``), masked where unmatched; ``match_sep`` (arcsec) for a match by position.
    report : JoinReport
        Matched and unmatched rows.

    Raises
    ------
    deepshadows.errors.InputError
        If the catalogue cannot be read or lacks a named column, or a match by position is
        asked for predictions without positions.
    """
    path = Path(join.path)
    catalog = read_table(path)
    separation = None
    if join.match_radius is None:
        index = _match_by_id(catalog, path, join, predictions)
    else:
        index, separation = _match_by_position(catalog, path, join, predictions)
    hit = index >= 0
    out = catalog.copy(copy_data=True)
    renamed: dict[str, str] = {}
    for name in predictions.colnames:
        if name in ("id", "ra", "dec"):
            continue
        source = predictions[name]
        target = name
        while target in out.colnames:
            target += CLASH_SUFFIX
        if target != name:
            renamed[name] = target
        values = np.zeros(len(catalog), dtype=source.dtype)
        values[hit] = np.asarray(source)[index[hit]]
        out[target] = MaskedColumn(
            values, mask=~hit, unit=source.unit, description=source.description, dtype=source.dtype
        )
    if separation is not None:
        out["match_sep"] = MaskedColumn(
            np.nan_to_num(separation), mask=~hit, unit="arcsec", description="distance to the matched cutout"
        )
    out.meta.update(meta or {})
    identifiers = catalog_ids(catalog, find_column(catalog, path, "id", join.id_column))
    report = JoinReport(
        n_catalog=len(catalog),
        matched=int(hit.sum()),
        unmatched=[identifiers[k] for k in np.flatnonzero(~hit)],
        unused=len(predictions) - len(np.unique(index[hit])),
        renamed=renamed,
    )
    return out, report
