"""One partition of a fetch: download its rows concurrently and turn them into store rows.

:func:`fetch_partition` is the job that executors (local processes, Dask workers) run; it opens
its own event loop and HTTP client. In a single process, :func:`fetch_rows` runs several
partitions side by side on one shared :class:`~deepshadows.fetch.http.HttpClient`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from deepshadows.features import FEATURE_NAMES
from deepshadows.fetch.cutouts import CutoutConfig, fits_url, jpeg_url, make_row, parse_fits, parse_jpeg
from deepshadows.fetch.http import ClientSettings, FetchFailed, FetchStats, HttpClient, ResponseCache

__all__ = ["PartitionResult", "PartitionTask", "fetch_partition", "fetch_rows", "run_coroutine"]

_T = TypeVar("_T")
#: A processed row: cutout, features (None without FITS) and feature flag.
_Row = tuple[np.ndarray, np.ndarray | None, int]


@dataclass(frozen=True)
class PartitionTask:
    """Rows of the catalogue fetched as one unit (picklable, for executors).

    Parameters
    ----------
    index : int
        Partition number.
    rows : tuple of int
        Catalogue data row numbers.
    ra, dec : tuple of float
        Coordinates, degrees.
    cutouts : CutoutConfig
        What to download and store.
    client : ClientSettings
        How to download it.
    cache_dir : str or None
        Response cache folder.
    """

    index: int
    rows: tuple[int, ...]
    ra: tuple[float, ...]
    dec: tuple[float, ...]
    cutouts: CutoutConfig
    client: ClientSettings
    cache_dir: str | None


@dataclass
class PartitionResult:
    """What one partition produced.

    Parameters
    ----------
    index : int
        Partition number.
    ok : ndarray of shape (k,), bool
        Whether each row was fetched.
    images : ndarray of shape (n_ok, S, S, 3), uint8
        Cutouts of the fetched rows.
    features : ndarray of shape (n_ok, 19), float32, or None
        Their features (None without FITS).
    flags : ndarray of shape (n_ok,), int16
        Feature measurement flags.
    reasons : list of str
        Why each row failed (empty for fetched rows).
    stats : FetchStats
        Requests, retries and cache hits of the partition.
    """

    index: int
    ok: np.ndarray
    images: np.ndarray
    features: np.ndarray | None
    flags: np.ndarray
    reasons: list[str]
    stats: FetchStats = field(default_factory=FetchStats)


async def fetch_rows(
    http: HttpClient, task: PartitionTask, on_row: Callable[[bool], None] | None = None
) -> PartitionResult:
    """Download the rows of one partition concurrently and turn them into store rows.

    Parameters
    ----------
    http : HttpClient
        Open client; its limits bound this and any other partition sharing it.
    task : PartitionTask
        The rows and what to fetch.
    on_row : callable, optional
        Called with True or False as each row is fetched or fails (for a progress bar).

    Returns
    -------
    PartitionResult
        Rows in task order; a row fails when one of its requests fails for good.
    """
    config = task.cutouts
    stats = FetchStats()
    parse_jpeg_ = functools.partial(parse_jpeg, size=config.survey.cutout_size)
    parse_fits_ = functools.partial(parse_fits, bands=config.bands, size=config.fits_size)

    async def one(ra: float, dec: float) -> tuple[_Row | None, str]:
        jpeg = bands = None
        try:
            if not config.from_fits:
                jpeg = await http.get(jpeg_url(config, ra, dec), parse_jpeg_, stats=stats)
            if config.fits:
                bands = await http.get(fits_url(config, ra, dec), parse_fits_, stats=stats)
        except FetchFailed as exc:
            what = "JPEG" if jpeg is None and not config.from_fits else "FITS"
            outcome: tuple[_Row | None, str] = (None, f"{what}: {exc.reason}")
        else:
            # Resampling and feature measurement run beside the event loop, which keeps serving sockets.
            outcome = (await asyncio.to_thread(make_row, config, jpeg, bands), "")
        if on_row is not None:
            on_row(outcome[0] is not None)
        return outcome

    outcomes = await asyncio.gather(*(one(ra, dec) for ra, dec in zip(task.ra, task.dec, strict=True)))
    rows = [row for row, _ in outcomes if row is not None]
    size = config.image_size
    features = None
    if config.fits:
        features = np.zeros((len(rows), len(FEATURE_NAMES)), np.float32)
        for k, row in enumerate(rows):
            features[k] = row[1]
    return PartitionResult(
        index=task.index,
        ok=np.array([row is not None for row, _ in outcomes], dtype=bool),
        images=np.stack([r[0] for r in rows]) if rows else np.empty((0, size, size, 3), np.uint8),
        features=features,
        flags=np.array([r[2] for r in rows], dtype=np.int16),
        reasons=[reason for _, reason in outcomes],
        stats=stats,
    )


def fetch_partition(task: PartitionTask) -> PartitionResult:
    """Download and process one partition in its own event loop (the job of a worker).

    Parameters
    ----------
    task : PartitionTask
        The rows and settings.

    Returns
    -------
    PartitionResult
    """

    async def main() -> PartitionResult:
        cache = ResponseCache(task.cache_dir) if task.cache_dir else None
        async with HttpClient(task.client, cache=cache) as http:
            return await fetch_rows(http, task)

    return run_coroutine(main())


def run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion, also from a thread that already runs an event loop (a notebook).

    Without a running loop the coroutine runs in a new one here; otherwise in a new loop on a
    worker thread, which this call waits for.

    Parameters
    ----------
    coroutine : coroutine
        The coroutine to run; it must not be awaited elsewhere.

    Returns
    -------
    object
        What the coroutine returned.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
