"""The partitions of a fetch: the checked inputs, and running the downloads here or on a cluster.

:class:`FetchPlan` holds what one fetch was asked for and cuts the valid rows of the catalogue
into partitions; :func:`fetch_partitions` downloads the partitions still to do, in this process
(one connection pool, a few partitions in flight) or as jobs of a Dask cluster, and stages each
as soon as it is complete.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from deepshadows.fetch.catalog import Catalog
from deepshadows.fetch.cutouts import CutoutConfig
from deepshadows.fetch.http import ClientSettings, FetchStats, HttpClient, ResponseCache
from deepshadows.fetch.partition import (
    PartitionResult,
    PartitionTask,
    fetch_partition,
    fetch_rows,
    run_coroutine,
)
from deepshadows.fetch.staging import PartitionStaging

__all__ = ["FetchPlan", "fetch_partitions"]


@dataclass(frozen=True)
class FetchPlan:
    """The checked inputs of one fetch.

    Parameters
    ----------
    out : pathlib.Path
        The store.
    catalog : Catalog
        The checked catalogue.
    cutouts : CutoutConfig
        What is downloaded and how it is turned into cutouts.
    client : ClientSettings
        Limits, time-outs and retries of the HTTP client.
    cache_dir : pathlib.Path or None
        Folder of the response cache (None for none).
    partition_size : int
        Valid rows per partition.
    fractions : tuple of float
        Split fractions of a labelled store.
    seed : int
        Split seed.
    scheduler : str or None
        None to fetch in this process, else a Dask scheduler (``local:N`` or an address).
    """

    out: Path
    catalog: Catalog
    cutouts: CutoutConfig
    client: ClientSettings
    cache_dir: Path | None
    partition_size: int
    fractions: tuple[float, float, float]
    seed: int
    scheduler: str | None

    @functools.cached_property
    def bounds(self) -> list[tuple[int, int]]:
        """Valid-row range of each partition."""
        n = len(self.catalog.rows)
        return [(start, min(start + self.partition_size, n)) for start in range(0, n, self.partition_size)]

    def store_config(self) -> dict[str, Any]:
        """Everything that determines the stored rows (a resumed run must match it)."""
        return {
            "source": "fetch",
            **self.cutouts.to_dict(),
            "survey": self.cutouts.survey.name,
            "catalog": str(self.catalog.path.resolve()),
            "catalog_sha256": self.catalog.sha256,
            "columns": self.catalog.columns,
            "seed": self.seed,
            "split_fractions": list(self.fractions),
        }

    def task(self, index: int) -> PartitionTask:
        """Return the job of partition ``index``."""
        start, stop = self.bounds[index]
        rows = self.catalog.rows[start:stop]
        return PartitionTask(
            index=index,
            rows=tuple(r.row for r in rows),
            ra=tuple(r.ra for r in rows),
            dec=tuple(r.dec for r in rows),
            cutouts=self.cutouts,
            client=self.client,
            cache_dir=None if self.cache_dir is None else str(self.cache_dir),
        )


def _run_here(
    tasks: Iterator[PartitionTask],
    n_tasks: int,
    client: ClientSettings,
    cache: ResponseCache | None,
    stage: Callable[[PartitionResult], None],
    on_row: Callable[[bool], None],
) -> None:
    """Fetch every partition in this process, a few partitions at a time, one connection pool."""

    async def main() -> None:
        if n_tasks == 0:
            return
        async with HttpClient(client, cache=cache) as http:
            first = next(tasks)
            window = max(2, math.ceil(2 * client.concurrency / max(1, len(first.rows))))
            pending = {asyncio.create_task(fetch_rows(http, first, on_row))}
            for task in tasks:
                if len(pending) >= window:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for finished in done:
                        stage(finished.result())
                pending.add(asyncio.create_task(fetch_rows(http, task, on_row)))
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    stage(finished.result())

    run_coroutine(main())


def _run_on_cluster(
    tasks: Iterator[PartitionTask],
    scheduler: str,
    client: ClientSettings,
    stage: Callable[[PartitionResult], None],
    on_partition: Callable[[PartitionResult], None],
) -> ClientSettings:
    """Fetch the partitions as jobs of a Dask cluster, sharing the limits between the jobs in flight."""
    from deepshadows.parallel import map_ordered, open_executor, parse_scheduler

    kind, value = parse_scheduler(scheduler)
    in_flight = 2 * int(value) if kind == "local" else 8  # type: ignore[arg-type]
    shared = dataclasses.replace(
        client,
        concurrency=max(1, math.ceil(client.concurrency / in_flight)),
        rate_limit=None if client.rate_limit is None else client.rate_limit / in_flight,
    )
    jobs = (dataclasses.replace(t, client=shared) for t in tasks)
    with open_executor(scheduler) as executor:
        for result in map_ordered(executor, fetch_partition, jobs, max_in_flight=in_flight):
            stage(result)
            on_partition(result)
    return shared


def fetch_partitions(
    plan: FetchPlan, staging: PartitionStaging, todo: list[int], *, progress: bool
) -> ClientSettings:
    """Fetch and stage the partitions ``todo``; return the client settings each job used.

    Parameters
    ----------
    plan : FetchPlan
        The checked inputs of the fetch: catalogue, cutout settings and partition bounds.
    staging : PartitionStaging
        Where each finished partition is written before the store is assembled.
    todo : list of int
        Indices of the partitions still to fetch.
    progress : bool
        Show a progress bar over the catalogue's rows.

    Returns
    -------
    ClientSettings
        The HTTP client settings the jobs used.
    """
    bounds = plan.bounds
    already = len(plan.catalog.rows) - sum(bounds[k][1] - bounds[k][0] for k in todo)
    bar = tqdm(
        total=len(plan.catalog.rows),
        initial=already,
        desc=f"fetch {plan.cutouts.layer}",
        unit="row",
        disable=not progress,
        smoothing=0.1,
    )
    counters = {"failed": 0}
    run_stats = FetchStats()

    def stage(result: PartitionResult) -> None:
        staging.write(result)
        run_stats.add(result.stats)
        bar.set_postfix(retries=run_stats.total_retries, failed=counters["failed"], refresh=False)

    def on_row(ok: bool) -> None:
        counters["failed"] += not ok
        bar.update(1)

    def on_partition(result: PartitionResult) -> None:
        counters["failed"] += int((~result.ok).sum())
        bar.update(len(result.ok))

    tasks = (plan.task(k) for k in todo)
    try:
        if plan.scheduler is None:
            cache = ResponseCache(plan.cache_dir) if plan.cache_dir is not None else None
            _run_here(tasks, len(todo), plan.client, cache, stage, on_row)
            return plan.client
        return _run_on_cluster(tasks, plan.scheduler, plan.client, stage, on_partition)
    finally:
        bar.close()
