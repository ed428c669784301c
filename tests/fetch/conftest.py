"""Fixtures of the fetch tests: the loopback fault server and small catalogues."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _load_server_module():
    name = "deepshadows_test_fault_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("server.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


server_module = _load_server_module()
FaultPlan = server_module.FaultPlan
FaultServer = server_module.FaultServer

#: Client options that keep the tests fast: short time-outs, tiny backoffs.
FAST = {
    "timeout": 0.5,
    "retries": 6,
    "backoff": 0.005,
    "backoff_max": 0.02,
    "retry_after_max": 0.02,
    "progress": False,
}


@pytest.fixture
def make_server() -> Iterator[Callable[..., object]]:
    """Start fault servers (``make_server(rate=0.3, ...)``); all are stopped after the test."""
    servers = []

    def start(**plan):
        plan.setdefault("stall_seconds", 3.0)
        server = FaultServer(FaultPlan(**plan)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _coordinates(n: int, start: int = 0) -> list[tuple[str, float, float]]:
    return [
        (f"obj{i:03d}", round(10.0 + 0.013 * i, 4), round(-20.0 + 0.011 * i, 4))
        for i in range(start, start + n)
    ]


@pytest.fixture
def coordinates() -> Callable[..., list[tuple[str, float, float]]]:
    """``coordinates(n)``: n distinct (id, ra, dec) triples."""
    return _coordinates


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[..., Path]:
    """``write_catalog(rows, header="id,ra,dec", name="cat.csv")``: a CSV catalogue in tmp_path."""

    def write(rows: list[tuple], header: str = "id,ra,dec", name: str = "cat.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join([header] + [",".join(str(v) for v in row) for row in rows]) + "\n")
        return path

    return write


@pytest.fixture
def fast() -> dict[str, object]:
    """Client options that keep the tests fast: short time-outs and tiny backoffs, no progress bar."""
    return dict(FAST)
