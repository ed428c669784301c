"""Columns of a store carried into a prediction table: the position, and chosen features or truth.

A fetched store keeps each cutout's catalogue position in its ``truth`` table (``ra``, ``dec`` in
degrees), and a store imported with a labels table keeps there every other column of the table
(``ra``, ``dec`` and the rest); ``ra`` and ``dec`` are carried into every prediction table of the
store. ``--columns`` names more of the ``features`` or ``truth`` columns (any case, when only one
column has that name in another case). They are read from the HDF5 file block by block, beside
the prediction rows, whose ids are checked against the store's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from deepshadows.errors import InputError
from deepshadows.predict.columns import Column

__all__ = ["StoreColumns"]

_TABLES = ("truth", "features")
_UNITS = {"ra": "deg", "dec": "deg"}
_DESCRIPTIONS = {"ra": "right ascension (ICRS)", "dec": "declination (ICRS)"}


def _fields(path: Path) -> dict[str, tuple[str, np.dtype]]:
    """Return ``{column: (table, dtype)}`` of the store's compound tables (truth first)."""
    found: dict[str, tuple[str, np.dtype]] = {}
    try:
        with h5py.File(path, "r") as f:
            for table in _TABLES:
                dtype = f[table].dtype if table in f else None
                for name in () if dtype is None or dtype.names is None else dtype.names:
                    found.setdefault(name, (table, dtype[name]))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the HDF5 file ({exc})") from exc
    return found


def _find(path: Path, fields: Sequence[str], given: str) -> str:
    """Return the column named ``given``: exactly, else the only one of that name in any case."""
    if given in fields:
        return given
    like = [name for name in fields if name.lower() == given.lower()]
    if len(like) == 1:
        return like[0]
    have = ", ".join(fields) or "none"
    what = f"several columns named {given!r} in other cases" if like else f"no column {given!r}"
    raise InputError(f"--columns: {path} has {what} in its features or truth tables (its columns: {have})")


class StoreColumns:
    """The store columns added to a prediction table, read row range by row range.

    Parameters
    ----------
    path : path-like
        The store that was classified.
    names : sequence of str
        Columns of its ``features`` or ``truth`` tables to add (``--columns``): the exact name,
        else the one column of that name in another case.
    positions : bool, optional
        Add ``ra`` and ``dec`` when the truth table has them.

    Raises
    ------
    deepshadows.errors.InputError
        If a name is not a column of either table, or matches several in other cases; the
        message lists those it has.
    """

    def __init__(
        self, path: str | os.PathLike[str], names: Sequence[str] = (), *, positions: bool = True
    ) -> None:
        self.path = Path(path)
        fields = _fields(self.path)
        wanted = [n for n in ("ra", "dec") if positions and fields.get(n, ("",))[0] == "truth"]
        for given in names:
            name = _find(self.path, fields, given)
            if name not in wanted and name != "id":
                wanted.append(name)
        self._fields = {name: fields[name] for name in wanted}
        self.columns = [
            Column(
                name,
                self._dtype(dtype),
                _UNITS.get(name),
                _DESCRIPTIONS.get(name, f"{table} column of the store"),
            )
            for name, (table, dtype) in self._fields.items()
        ]

    @staticmethod
    def _dtype(dtype: np.dtype) -> np.dtype:
        return dtype if dtype.kind == "S" else dtype.newbyteorder("=")

    def __bool__(self) -> bool:
        return bool(self.columns)

    def read(self, start: int, ids: np.ndarray) -> dict[str, Any]:
        """Return the columns of the store rows ``start`` to ``start + len(ids)``.

        Parameters
        ----------
        start : int
            First row.
        ids : ndarray of str
            The ids of the prediction rows, which must be those of the store rows.

        Raises
        ------
        deepshadows.errors.InputError
            If an id differs from the store's (the predictions were made from another input).
        """
        stop = start + len(ids)
        with h5py.File(self.path, "r") as f:
            stored = f["id"].asstr("utf-8")[start:stop]
            if len(stored) != len(ids) or not np.array_equal(np.asarray(stored, dtype=str), ids):
                bad = next(
                    (i for i, (a, b) in enumerate(zip(stored, ids, strict=False)) if a != b), len(stored)
                )
                raise InputError(
                    f"{self.path}: row {start + bad + 1} has another id than the prediction row; "
                    "the predictions were not made from this store in order"
                )
            tables = {table: f[table][start:stop] for table in {t for t, _ in self._fields.values()}}
        return {name: tables[table][name] for name, (table, _) in self._fields.items()}
