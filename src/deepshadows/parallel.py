"""Where independent jobs run: local processes, or a Dask distributed cluster.

Commands that split their work into independent parts (``simulate``, ``predict``, ``fetch``
and the uncertainty studies) take a ``--scheduler`` option read by :func:`open_executor`:

``None`` (no option)
    Worker processes on this machine (``workers`` of them; one runs the jobs in this process).
``"local:N"``
    A Dask ``LocalCluster`` of ``N`` single-threaded worker processes, started for the command
    and closed after it; its dashboard shows the progress of every job.
``"tcp://host:8786"`` (or ``"host:8786"``)
    An existing Dask distributed scheduler. Every worker of that cluster must have
    ``deepshadows`` installed and see the input and output paths at the same names (a shared
    file system), since jobs read and write files by path.

Every case yields a :class:`concurrent.futures.Executor`, so a command submits its jobs the same
way whatever runs them; :func:`map_ordered` returns their results in order while bounding how
many are in flight.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from deepshadows.errors import InputError, WorkerError

__all__ = [
    "InlineExecutor",
    "describe_scheduler",
    "map_ordered",
    "open_executor",
    "parse_scheduler",
    "worker_threads",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_LOCAL = re.compile(r"^local:(\d+)$")
_BROKEN_POOL = (
    "a worker process stopped abruptly: it was killed (out of memory?) or could not start. "
    "Every worker imports the main module, so a script that runs deepshadows with several "
    'workers must keep its top-level code under `if __name__ == "__main__":`; '
    "or use one worker (--workers 1, workers=1)"
)


class InlineExecutor(Executor):
    """An executor that runs every job at once in the calling process (one worker, no pickling)."""

    def submit(self, fn: Callable[..., _R], /, *args: Any, **kwargs: Any) -> Future[_R]:
        """Run ``fn(*args, **kwargs)`` now and return a finished future holding its outcome."""
        future: Future[_R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def parse_scheduler(scheduler: str | None) -> tuple[str, int | str | None]:
    """Interpret a ``--scheduler`` value.

    Parameters
    ----------
    scheduler : str or None
        None (local processes), ``"local:N"`` or the address of a Dask scheduler
        (``"tcp://host:8786"`` or ``"host:8786"``).

    Returns
    -------
    kind : {"processes", "local", "address"}
        What runs the jobs.
    value : int, str or None
        The number of workers for ``"local"``, the address for ``"address"``, None otherwise.

    Raises
    ------
    deepshadows.errors.InputError
        If the value is empty or ``local:N`` has N < 1.
    """
    if scheduler is None:
        return "processes", None
    text = str(scheduler).strip()
    match = _LOCAL.match(text)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise InputError(f"--scheduler: local:N needs N >= 1, got {scheduler!r}")
        return "local", n
    if not text or text.startswith("local"):
        raise InputError(
            f"--scheduler: expected local:N or the address of a Dask scheduler (tcp://host:8786), "
            f"got {scheduler!r}"
        )
    return "address", text


def worker_threads(scheduler: str | None, jobs: int = 1, threads: int | None = None) -> int | None:
    """PyTorch threads for each of ``jobs`` trainings that share this machine's cores.

    Two trainings whose PyTorch thread pools both span every core run many times slower than
    one after the other, so local workers split the cores between them.

    Parameters
    ----------
    scheduler : str or None
        As for :func:`parse_scheduler`.
    jobs : int, optional
        Trainings run at once in local processes (``scheduler`` None).
    threads : int, optional
        An explicit number, which wins.

    Returns
    -------
    int or None
        Threads per training, or None to leave PyTorch's default (one training at a time, or
        a remote cluster whose machines are not this one).

    Raises
    ------
    deepshadows.errors.InputError
        If ``threads`` is not a positive integer.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InputError(f"--threads: must be a positive integer, got {threads!r}")
        return threads
    kind, value = parse_scheduler(scheduler)
    cores = os.cpu_count() or 1
    if kind == "processes":
        return None if jobs == 1 else max(1, cores // jobs)
    if kind == "local":
        return max(1, cores // int(value))  # type: ignore[arg-type]
    return None


def describe_scheduler(scheduler: str | None, workers: int | None = None) -> str:
    """Return a short description of where jobs run, for logs and recorded configurations.

    Parameters
    ----------
    scheduler : str or None
        A ``--scheduler`` value, as for :func:`open_executor`.
    workers : int, optional
        Local processes when ``scheduler`` is None (default: all cores).

    Returns
    -------
    str
        E.g. ``"this process"``, ``"4 local processes"``, ``"Dask LocalCluster with 8 workers"``
        or ``"Dask scheduler at tcp://host:8786"``.

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid ``scheduler`` or ``workers``.
    """
    kind, value = parse_scheduler(scheduler)
    if kind == "processes":
        n = _local_workers(workers)
        return "this process" if n == 1 else f"{n} local processes"
    if kind == "local":
        return f"Dask LocalCluster with {value} workers"
    return f"Dask scheduler at {value}"


def _local_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers: must be a positive integer, got {workers!r}")
    return workers


def _dask_client(kind: str, value: int | str | None, timeout: float) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the dask extra is part of dev
        raise InputError("--scheduler needs Dask distributed: pip install 'deepshadows[dask]'") from exc
    if kind == "local":
        cluster = LocalCluster(
            n_workers=int(value),  # type: ignore[arg-type]
            threads_per_worker=1,
            processes=True,
            # Any free port: a fixed one (8787) collides with other clusters on the machine.
            dashboard_address="127.0.0.1:0",
        )
        return Client(cluster), cluster
    try:
        return Client(str(value), timeout=f"{timeout}s"), None
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler: cannot reach the Dask scheduler at {value} ({exc})") from exc


@contextlib.contextmanager
def open_executor(
    scheduler: str | None = None, *, workers: int | None = None, connect_timeout: float = 20.0
) -> Iterator[Executor]:
    """Open the executor that ``--scheduler`` names, and close it (and any cluster it started).

    Parameters
    ----------
    scheduler : str, optional
        None: local processes; ``"local:N"``: a Dask ``LocalCluster`` of N workers; anything
        else: the address of a running Dask scheduler.
    workers : int, optional
        Local processes when ``scheduler`` is None (default: all cores). One runs the jobs in
        this process with :class:`InlineExecutor`.
    connect_timeout : float, optional
        Seconds to wait for a remote Dask scheduler.

    Yields
    ------
    concurrent.futures.Executor
        Submit picklable top-level functions to it.

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid ``scheduler`` or ``workers``, or an unreachable scheduler.
    deepshadows.errors.WorkerError
        If a local worker process stops abruptly (killed, or unable to start because the main
        module of a script runs deepshadows at import, without ``if __name__ == "__main__":``).
    """
    kind, value = parse_scheduler(scheduler)
    if kind == "processes":
        n = _local_workers(workers)
        if n == 1:
            yield InlineExecutor()
            return
        import multiprocessing

        # forkserver: workers do not inherit the parent's threads (torch, HDF5) half-initialised.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(method)) as pool:
            try:
                yield pool
            except BrokenProcessPool as exc:
                raise WorkerError(_BROKEN_POOL) from exc
        return
    client, cluster = _dask_client(kind, value, connect_timeout)
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_ordered(
    executor: Executor, fn: Callable[[_T], _R], items: Iterable[_T], *, max_in_flight: int | None = None
) -> Iterator[_R]:
    """Apply ``fn`` to every item on ``executor``; yield the results in the order of ``items``.

    At most ``max_in_flight`` jobs are submitted ahead of the result being yielded, so memory
    stays bounded however many items there are. An exception raised by a job is raised here,
    after the jobs still queued are cancelled.

    Parameters
    ----------
    executor : concurrent.futures.Executor
        From :func:`open_executor`.
    fn : callable
        Picklable top-level function of one argument.
    items : iterable
        Arguments, consumed lazily.
    max_in_flight : int, optional
        Jobs submitted at once (default: 2 per CPU core of this machine).

    Yields
    ------
    object
        ``fn(item)`` for each item, in the order of ``items``.

    Raises
    ------
    deepshadows.errors.InputError
        If ``max_in_flight`` is less than 1.
    """
    limit = max_in_flight if max_in_flight is not None else 2 * (os.cpu_count() or 1)
    if limit < 1:
        raise InputError(f"max_in_flight: must be a positive integer, got {max_in_flight!r}")
    pending: deque[Future[_R]] = deque()
    iterator = iter(items)
    try:
        for item in iterator:
            pending.append(executor.submit(fn, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
