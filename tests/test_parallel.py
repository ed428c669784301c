from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Executor, Future

import pytest

from deepshadows.errors import InputError, WorkerError
from deepshadows.parallel import (
    InlineExecutor,
    describe_scheduler,
    map_ordered,
    open_executor,
    parse_scheduler,
)


def square(x: int) -> int:
    return x * x


def slow_for_small(x: int) -> int:
    time.sleep(0.05 * (3 - x % 3))
    return x + 100


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def die_on_two(x: int) -> int:
    if x == 2:
        os._exit(3)  # as a worker killed by the system would
    return x


def worker_pid(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


class CountingExecutor(Executor):
    """Runs jobs on a thread, recording how many were submitted but not yet consumed."""

    def __init__(self) -> None:
        self.submitted = 0
        self.max_outstanding = 0
        self.consumed = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        self.max_outstanding = max(self.max_outstanding, self.submitted - self.consumed)
        future: Future = Future()
        threading.Thread(target=lambda: future.set_result(fn(*args, **kwargs))).start()
        return future


def test_parse_scheduler() -> None:
    assert parse_scheduler(None) == ("processes", None)
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://10.0.0.1:8786") == ("address", "tcp://10.0.0.1:8786")
    for bad in ("local:0", "local", "", "local:two"):
        with pytest.raises(InputError, match="--scheduler"):
            parse_scheduler(bad)
    assert describe_scheduler(None, 1) == "this process"
    assert describe_scheduler("local:2") == "Dask LocalCluster with 2 workers"
    with pytest.raises(InputError, match="--workers"):
        describe_scheduler(None, 0)


def test_inline_executor_runs_at_once_and_keeps_errors() -> None:
    executor = InlineExecutor()
    assert executor.submit(square, 7).result() == 49
    failed = executor.submit(fail_on_three, 3)
    with pytest.raises(ValueError, match="three"):
        failed.result()


def test_map_ordered_keeps_order_and_bounds_what_is_in_flight() -> None:
    executor = CountingExecutor()
    results = []
    for value in map_ordered(executor, slow_for_small, range(12), max_in_flight=3):
        executor.consumed += 1
        results.append(value)
    assert results == [x + 100 for x in range(12)]
    assert executor.max_outstanding <= 3


def test_map_ordered_raises_the_first_failure() -> None:
    with open_executor(None, workers=1) as executor, pytest.raises(ValueError, match="three"):
        list(map_ordered(executor, fail_on_three, range(6), max_in_flight=2))


def test_local_processes() -> None:
    with open_executor(None, workers=2) as executor:
        assert list(map_ordered(executor, square, range(10))) == [x * x for x in range(10)]


def test_dask_local_cluster_runs_jobs_on_its_workers() -> None:
    pytest.importorskip("distributed")
    with open_executor("local:2") as executor:
        assert list(map_ordered(executor, square, range(20), max_in_flight=4)) == [x * x for x in range(20)]
        pids = set(map_ordered(executor, worker_pid, range(4), max_in_flight=4))
    assert os.getpid() not in pids
    assert len(pids) == 2


def test_unreachable_scheduler() -> None:
    pytest.importorskip("distributed")
    with (
        pytest.raises(InputError, match="cannot reach"),
        open_executor("tcp://127.0.0.1:9", connect_timeout=1),
    ):
        pass


def test_a_worker_that_dies_is_a_worker_error():
    with pytest.raises(WorkerError, match="stopped abruptly"):
        with open_executor(None, workers=2) as executor:
            list(map_ordered(executor, die_on_two, range(6)))


def test_a_script_without_main_guard_fails_with_advice_instead_of_hanging(tmp_path):
    # Every worker re-imports the main module, which here starts workers again: Python refuses,
    # the worker dies, and a plain multiprocessing.Pool would replace it forever.
    script = tmp_path / "no_guard.py"
    script.write_text(
        textwrap.dedent(
            """
            import math
            from deepshadows.parallel import map_ordered, open_executor

            with open_executor(None, workers=2) as executor:
                print(list(map_ordered(executor, math.sqrt, range(4))))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode != 0
    assert "WorkerError" in result.stderr
    assert 'if __name__ == "__main__":' in result.stderr


def test_worker_threads_split_the_cores_between_local_trainings(monkeypatch):
    from deepshadows.parallel import worker_threads

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert worker_threads(None) is None  # one training: PyTorch's default
    assert worker_threads(None, jobs=4) == 2
    assert worker_threads("local:2") == 4 and worker_threads("local:16") == 1
    assert worker_threads("tcp://10.0.0.1:8786") is None  # a remote cluster's cores are its own
    assert worker_threads("local:2", threads=3) == 3
    with pytest.raises(InputError, match="--threads"):
        worker_threads(None, threads=0)
