"""Fetch a catalogue's cutouts from the Legacy Survey viewer into a store, resumably.

The valid rows of the catalogue are cut into partitions of ``partition_size`` rows. Each
partition is downloaded (concurrently, through :class:`~deepshadows.fetch.http.HttpClient`),
turned into cutouts and features, and staged as one file in ``<out>.parts/`` (written
atomically) as soon as it is complete. The staged partitions are what ``resume`` keeps: a killed
run loses at most the partitions in flight, and their responses are in the cache. Once every
partition is staged, the number of rows that were fetched is known and the store is written in
catalogue order by :class:`~deepshadows.store.reader.StoreWriter` (itself resumable), after which
the staging folder is removed.

Rows that are invalid in the catalogue or whose download still fails after the retries are not
stored; they are listed in ``<out>.failures.csv`` (columns row, id, ra, dec, reason), and the
catalogue's own rows, with every input column plus ``reason``, are written in the catalogue's
format to ``<out>.failed.<ext>``, which ``fetch`` reads again to retry them. The configuration,
provenance and statistics are recorded in the store's attributes and in ``<out>.fetch.json``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepshadows._io import check_int, check_writable, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.fetch.catalog import BadRow, Catalog, read_catalog
from deepshadows.fetch.cutouts import DEFAULT_BASE_URL, CutoutConfig
from deepshadows.fetch.dispatch import FetchPlan, fetch_partitions
from deepshadows.fetch.http import ClientSettings, FetchStats
from deepshadows.fetch.output import (
    failures_path,
    report_path,
    staging_path,
    write_failed_catalog,
    write_failures,
    write_store,
)
from deepshadows.fetch.staging import PartitionStaging
from deepshadows.store.splits import check_split_fractions

__all__ = ["FetchResult", "fetch_catalog"]


@dataclass
class FetchResult:
    """Outcome of :func:`fetch_catalog`.

    Parameters
    ----------
    path : pathlib.Path or None
        The store (None when no row could be fetched).
    n_catalog : int
        Data rows in the catalogue.
    n_stored : int
        Rows in the store.
    failures : list of BadRow
        Rows not stored (invalid or failed), in catalogue order, with their reasons.
    failures_path : pathlib.Path or None
        The failures CSV (None when every row was stored).
    failed_catalog_path : pathlib.Path or None
        The catalogue's rows not stored, in its format, with ``reason`` (None when every row
        was stored; see :func:`deepshadows.fetch.output.write_failed_catalog`).
    report_path : pathlib.Path
        The JSON record of configuration, provenance and statistics.
    stats : FetchStats
        Requests, bytes, cache hits and retries by cause (staged partitions of earlier,
        interrupted runs included).
    rows_this_run : int
        Rows downloaded and processed by this call (not taken from staged partitions).
    elapsed : float
        Seconds this call took.
    """

    path: Path | None
    n_catalog: int
    n_stored: int
    failures: list[BadRow]
    failures_path: Path | None
    failed_catalog_path: Path | None
    report_path: Path
    stats: FetchStats
    rows_this_run: int
    elapsed: float

    @property
    def rows_per_second(self) -> float:
        """Rows processed per second by this call."""
        return self.rows_this_run / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """One line: rows stored, retries by cause, failures, rows per second."""
        kinds = ", ".join(f"{k} {n}" for k, n in self.stats.retries.items() if n)
        retries = f"{self.stats.total_retries} retries" + (f" ({kinds})" if kinds else "")
        failed = f"{len(self.failures)} failed"
        if self.failures_path is not None:
            failed += f" (listed in {self.failures_path}"
            if self.failed_catalog_path is not None:
                failed += f"; to fetch them again: {self.failed_catalog_path}"
            failed += ")"
        where = f" in {self.path}" if self.path is not None else ""
        return (
            f"stored {self.n_stored} of {self.n_catalog} rows{where}; {retries}; {failed}; "
            f"{self.stats.requests} requests, {self.stats.cache_hits} from the cache; "
            f"{self.rows_per_second:.1f} rows/s"
        )


def _cache_dir(cache: str | os.PathLike[str] | bool | None, out: Path) -> Path | None:
    if cache is False:
        return None
    folder = out.parent / "cache" if cache is None or cache is True else Path(cache)
    return folder.resolve()  # jobs on other workers may run in another folder


def fetch_catalog(
    catalog: str | os.PathLike[str] | Catalog,
    out: str | os.PathLike[str],
    *,
    layer: str = "des-dr1",
    fits: bool = False,
    from_fits: bool = False,
    bands: str = "grz",
    image_size: int = 64,
    resize: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    subtract_background: bool = False,
    concurrency: int = 8,
    rate_limit: float | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    backoff: float = 1.0,
    backoff_max: float = 60.0,
    retry_after_max: float = 120.0,
    ra_column: str | None = None,
    dec_column: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    cache: str | os.PathLike[str] | bool | None = None,
    resume: bool = False,
    overwrite: bool = False,
    scheduler: str | None = None,
    partition_size: int = 256,
    seed: int = 0,
    split_fractions: Sequence[float] | str = (0.75, 0.125, 0.125),
    progress: bool = True,
) -> FetchResult:
    """Download the cutouts of a catalogue of candidates from the Legacy Survey viewer into a store.

    The store has the schema of simulated sets (see :mod:`deepshadows.store.reader`), so
    ``predict``, ``evaluate`` and ``transfer`` read it unchanged: cutouts (uint8, resized like
    the simulated ones), labels (-1 unless ``label_column`` gives them), the catalogue id in
    ``id``, and the catalogue position in the ``truth`` table (columns ``row``, ``ra``,
    ``dec``). With ``fits`` it also has the 19 features measured on the FITS bands. Splits are
    drawn (stratified, ``seed``) only when every stored row is labelled.

    Parameters
    ----------
    catalog : path-like or Catalog
        CSV or FITS table of candidates, or a catalogue already read by
        :func:`deepshadows.fetch.read_catalog` (then the ``*_column`` arguments are not used).
    out : path-like
        Store to write (``.h5``).
    layer : {"des-dr1", "hsc2", "ls-dr9", "ls-dr10"}, optional
        Viewer layer (a key of :data:`deepshadows.fetch.LAYERS`).
    fits : bool, optional
        Also download the grz FITS cutouts at the native pixel scale and store the features.
    from_fits : bool, optional
        Make the cutouts from the FITS bands with the simulator's pipeline
        (:func:`deepshadows.viewer.bands_to_cutout`) instead of the viewer JPEGs; implies ``fits``.
    bands : str, optional
        Bands of the FITS cutouts (``"grz"``; ``"griz"`` where the layer serves i, which the
        i-band features need).
    image_size : int, optional
        Side of the stored cutouts.
    resize : {"nearest", "bicubic", "lanczos"}, optional
        Filter of the 256 -> ``image_size`` resize; by default the layer's own (nearest for
        ``des-dr1`` and ``hsc2``, LANCZOS for ``ls-dr9`` and ``ls-dr10``).
    base_url : str, optional
        The viewer's site.
    subtract_background : bool, optional
        Subtract a ``sep`` background before measuring the features.
    concurrency : int, optional
        Requests in flight at once.
    rate_limit : float, optional
        Requests started per second at most.
    timeout : float, optional
        Connect and read time-out, seconds (a whole attempt is capped at four times this).
    retries : int, optional
        Retries of a request after the first attempt.
    backoff, backoff_max, retry_after_max : float, optional
        Base and cap of the exponential backoff, and cap of a ``Retry-After`` delay, seconds.
    ra_column, dec_column, id_column, label_column : str, optional
        Catalogue columns (see :func:`deepshadows.fetch.read_catalog`).
    cache : path-like, bool or None, optional
        Folder of the response cache; None or True for ``cache/`` beside ``out``, False for none.
    resume : bool, optional
        Keep the partitions (and the store rows) of an interrupted run with the same settings.
    overwrite : bool, optional
        Replace an existing ``out``.
    scheduler : str, optional
        None to fetch in this process; ``"local:N"`` or a Dask scheduler address to spread the
        partitions over a cluster (``concurrency`` and ``rate_limit`` are shared among the
        jobs in flight). The store is the same either way.
    partition_size : int, optional
        Rows per partition: the unit of staging, of resuming and of cluster jobs.
    seed : int, optional
        Seed of the splits of a labelled store.
    split_fractions : sequence of float or str, optional
        Train, validation and test fractions of a labelled store.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    FetchResult
        The store, the rows that failed and the statistics; ``failures_path`` and
        ``failed_catalog_path`` are set when some rows are missing from the store.

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid option, an unreadable catalogue or one without a valid row, an existing
        ``out`` without ``overwrite``, or staged partitions of other settings with ``resume``.
        Rows that fail do not raise: they are listed in the failures file, and written, as
        the catalogue's own rows in its format, to ``<out>.failed.<ext>`` (see
        :func:`deepshadows.fetch.output.write_failed_catalog`), which this function reads as
        a catalogue to fetch them again (into another ``out``, with the same options).
    """
    started = time.monotonic()
    plan = FetchPlan(
        out=check_writable(out, overwrite=overwrite),
        catalog=catalog
        if isinstance(catalog, Catalog)
        else read_catalog(
            catalog,
            ra_column=ra_column,
            dec_column=dec_column,
            id_column=id_column,
            label_column=label_column,
        ),
        cutouts=CutoutConfig(
            layer=layer,
            fits=fits,
            from_fits=from_fits,
            bands=bands,
            image_size=int(image_size),
            resize=resize,
            base_url=base_url,
            subtract_background=subtract_background,
        ).validate(),
        client=ClientSettings(
            concurrency=concurrency,
            rate_limit=None if rate_limit is None else float(rate_limit),
            timeout=float(timeout),
            retries=retries,
            backoff=float(backoff),
            backoff_max=float(backoff_max),
            retry_after_max=float(retry_after_max),
        ).validate(),
        cache_dir=_cache_dir(cache, Path(out)),
        partition_size=_check_partition_size(partition_size),
        fractions=check_split_fractions(split_fractions),
        seed=int(seed),
        scheduler=scheduler,
    )
    cat = plan.catalog
    if not cat.rows:
        listed = write_failures(failures_path(plan.out), cat.bad)
        write_failed_catalog(plan.out, cat, cat.bad)
        raise InputError(f"{cat.path}: none of its {cat.n_rows} rows is valid; the reasons are in {listed}")
    store_config = plan.store_config()
    bounds = plan.bounds
    staging = PartitionStaging(
        staging_path(plan.out),
        {"config": store_config, "partition_size": plan.partition_size, "n_valid": len(cat.rows)},
        resume=resume,
    )
    done = staging.done(len(bounds)) if resume else set()
    todo = [k for k in range(len(bounds)) if k not in done]
    jobs_client = fetch_partitions(plan, staging, todo, progress=progress)
    client_record = {
        "client": plan.client.to_dict(),
        "jobs_client": jobs_client.to_dict(),
        "scheduler": scheduler,
    }
    stored = write_store(
        plan.out,
        cat,
        bounds,
        staging,
        image_size=plan.cutouts.image_size,
        with_features=plan.cutouts.fits,
        attrs={
            "config": store_config,
            "provenance": provenance(),
            "survey": plan.cutouts.survey.to_dict(),
            "kind": "fetched",
            "fetch": client_record,
        },
        fractions=plan.fractions,
        seed=plan.seed,
        resume=resume,
        overwrite=overwrite,
    )
    failures = sorted([*cat.bad, *stored.failures], key=lambda b: b.row)
    result = FetchResult(
        path=stored.path,
        n_catalog=cat.n_rows,
        n_stored=stored.n_stored,
        failures=failures,
        failures_path=write_failures(failures_path(plan.out), failures),
        failed_catalog_path=write_failed_catalog(plan.out, cat, failures),
        report_path=report_path(plan.out),
        stats=stored.stats,
        rows_this_run=sum(bounds[k][1] - bounds[k][0] for k in todo),
        elapsed=time.monotonic() - started,
    )
    write_json_atomic(
        result.report_path,
        {
            "store": None if stored.path is None else str(stored.path),
            "config": store_config,
            **client_record,
            "cache": None if plan.cache_dir is None else str(plan.cache_dir),
            "partition_size": plan.partition_size,
            "provenance": provenance(),
            "rows": {
                "catalog": cat.n_rows,
                "invalid": len(cat.bad),
                "failed": len(stored.failures),
                "stored": stored.n_stored,
                "this_run": result.rows_this_run,
            },
            "stats": stored.stats.to_dict(),
            "elapsed_s": round(result.elapsed, 3),
            "rows_per_s": round(result.rows_per_second, 3),
            "failures_csv": None if result.failures_path is None else str(result.failures_path),
            "failed_catalog": None if result.failed_catalog_path is None else str(result.failed_catalog_path),
        },
    )
    staging.remove()
    return result


def _check_partition_size(size: Any) -> int:
    return check_int(size, "--partition-size")
