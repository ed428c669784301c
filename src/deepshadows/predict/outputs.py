"""The output of ``predict`` past its partial CSV: format, carried columns, keywords, the catalogue join.

:func:`plan_output` checks everything the output needs before any cutout is classified;
:func:`finish_output` turns the complete ``<out>.partial`` into ``<out>``.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from deepshadows._io import atomic_path
from deepshadows.errors import InputError
from deepshadows.predict.catalog_join import CatalogJoin, JoinReport, join_catalog
from deepshadows.predict.failed_rows import _reopen_finished
from deepshadows.predict.store_columns import StoreColumns
from deepshadows.predict.table_output import read_predictions, reopen_output, write_predictions
from deepshadows.tables import table_format, write_astropy

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []


@dataclass(frozen=True)
class OutputPlan:
    """Where and how the predictions are written.

    Parameters
    ----------
    out : pathlib.Path
        The output file.
    fmt : str
        Its format (a key of :data:`deepshadows.tables.TABLE_FORMATS`).
    extra : StoreColumns or None
        Store columns carried into each row (None for inputs other than stores).
    join : CatalogJoin or None
        The catalogue the predictions are added to.
    """

    out: Path
    fmt: str
    extra: StoreColumns | None
    join: CatalogJoin | None

    @property
    def plain(self) -> bool:
        """Whether the partial CSV is the output as it is (renamed, not rewritten)."""
        return self.fmt == "csv" and not self.extra and self.join is None


def _is_store(path: Path) -> bool:
    return path.is_file() and h5py.is_hdf5(path)


def plan_output(
    out: Path,
    input_path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    columns: Sequence[str] = (),
    catalog: CatalogJoin | str | os.PathLike[str] | None = None,
) -> OutputPlan:
    """Check the output's format, the columns to carry and the catalogue before prediction starts.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown format or extension, ``columns`` of an input that is not a store or
        absent from it, or a catalogue that is missing.
    """
    kind = table_format(out, fmt)
    source = Path(input_path)
    if _is_store(source):
        extra: StoreColumns | None = StoreColumns(source, list(columns))
    elif columns:
        raise InputError(f"--columns: only a store has columns to carry; {source} is not a store")
    else:
        extra = None
    join = catalog if isinstance(catalog, CatalogJoin) or catalog is None else CatalogJoin(catalog)
    if join is not None and not Path(join.path).is_file():
        raise InputError(f"{join.path}: catalogue not found (--catalog)")
    return OutputPlan(out, kind, extra, join)


def model_sha256(model_path: Path, metadata: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a model's weights: recorded in its description, else of its file."""
    recorded = metadata.get("weights_sha256")
    if recorded:
        return str(recorded)
    if not model_path.is_file():
        return ""
    digest = hashlib.sha256()
    with open(model_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_meta(
    model_name: str,
    model_path: Path,
    metadata: Mapping[str, Any],
    *,
    threshold: float | None,
    calibration: str | None,
    operating_point: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the keywords that say how a prediction table was made (8-character FITS names).

    ``MODEL`` (name or path as given), ``MODELSHA`` (SHA-256 of the weights), ``THRESHLD`` (the
    decision threshold, absent for models of K classes), ``PROBCAL`` (the calibration method,
    ``none`` for the model's own probabilities) and ``DSVERSIO`` (the package version). A
    threshold chosen for a target (``operating_point``, as
    :meth:`deepshadows.calibration.OperatingPoint.to_dict` gives it) adds ``OPTARGET`` (e.g.
    ``completeness>=0.9``) and, when the point has bootstrap intervals, ``THRLOW`` and
    ``THRHIGH`` (the threshold's interval) and ``OPLEVEL`` (its confidence level).
    """
    from deepshadows import __version__

    meta: dict[str, Any] = {"MODEL": model_name, "MODELSHA": model_sha256(model_path, metadata)}
    if threshold is not None:
        meta["THRESHLD"] = float(threshold)
    if operating_point is not None:
        meta["OPTARGET"] = f"{operating_point['target']}>={float(operating_point['target_value']):g}"
        band = (operating_point.get("interval") or {}).get("threshold") or {}
        low, high = band.get("low"), band.get("high")
        if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
            meta["THRLOW"], meta["THRHIGH"] = float(low), float(high)
            meta["OPLEVEL"] = float(operating_point["interval"]["level"])
    meta["PROBCAL"] = calibration or "none"
    meta["DSVERSIO"] = __version__
    return meta


def reopen_finished(plan: OutputPlan, partial: Path, header: Sequence[str]) -> None:
    """Make a finished output (and its failures) the partial files of a resumed run.

    Raises
    ------
    deepshadows.errors.InputError
        For an output joined to a catalogue, whose rows are the catalogue's.
    """
    if plan.join is not None:
        raise InputError(
            f"{plan.out}: a finished output joined to a catalogue cannot be resumed; "
            "pass --overwrite to predict again"
        )
    _reopen_finished(plan.out, partial)
    if not plan.plain:
        reopen_output(plan.out, partial, header, plan.fmt)


def finish_output(
    plan: OutputPlan, partial: Path, header: Sequence[str], meta: Mapping[str, Any]
) -> JoinReport | None:
    """Turn the complete partial CSV into the output; return what a catalogue join matched.

    The partial file is removed once the output is in place (renamed, for plain CSV).
    """
    if plan.plain:
        os.replace(partial, plan.out)
        return None
    report = None
    if plan.join is None:
        write_predictions(partial, plan.out, plan.fmt, header, extra=plan.extra, meta=meta)
    else:
        table, report = join_catalog(read_predictions(partial, header, extra=plan.extra), plan.join, meta)
        with atomic_path(plan.out) as tmp:
            write_astropy(table, tmp, plan.fmt)
    partial.unlink()
    return report
