"""``deepshadows fetch`` against a faulty stand-in of the Legacy Survey viewer on the loopback interface.

Starts the fault server of the tests (``tests/fetch/server.py``) on 127.0.0.1, in a process of its
own so that it does not compete with the client for the interpreter lock, with ``--faults``
of the requests failing (500/503/429 with Retry-After, connection resets, truncated bodies,
stalls longer than the client time-out), fetches a catalogue of ``--n`` rows through it, and
prints the rows stored, the retries by cause, the failures and the rows per second, then checks
that every stored cutout equals the one a fault-free download gives. Nothing leaves the machine.

Usage: python benchmarks/fetch_loopback.py [--n 2000] [--faults 0.3] [--fits] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deepshadows.data import open_store
from deepshadows.fetch import fetch_catalog
from deepshadows.fetch.cutouts import parse_jpeg
from deepshadows.viewer import resize_cutout

SERVER = Path(__file__).resolve().parents[1] / "tests" / "fetch" / "server.py"


def load_server():
    spec = importlib.util.spec_from_file_location("fetch_fault_server", SERVER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def serve(plan: dict, conn) -> None:
    """Run the fault server until told to stop; send its address, then its request counts."""
    module = load_server()
    with module.FaultServer(module.FaultPlan(**plan)) as server:
        conn.send(server.url)
        conn.recv()
        conn.send(dict(server.counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="catalogue rows")
    parser.add_argument("--faults", type=float, default=0.3, help="fraction of requests that fail")
    parser.add_argument("--fits", action="store_true", help="also fetch FITS cutouts and measure features")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=1.0, help="client time-out, s (stalls last 5 s)")
    parser.add_argument("--retries", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    server_module = load_server()
    rng = np.random.default_rng(args.seed)
    ra, dec = rng.uniform(0, 360, args.n), rng.uniform(-60, 5, args.n)
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    plan = {"rate": args.faults, "seed": args.seed, "stall_seconds": 5.0}
    process = context.Process(target=serve, args=(plan, there), daemon=True)
    process.start()
    url = here.recv()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "candidates.csv"
        lines = ["id,ra,dec"] + [f"c{i:06d},{ra[i]:.6f},{dec[i]:.6f}" for i in range(args.n)]
        catalog.write_text("\n".join(lines) + "\n")
        started = time.monotonic()
        result = fetch_catalog(
            catalog,
            Path(tmp) / "real.h5",
            base_url=url,
            fits=args.fits,
            concurrency=args.concurrency,
            timeout=args.timeout,
            retries=args.retries,
            backoff=0.05,
            backoff_max=1.0,
            retry_after_max=1.0,
            progress=False,
        )
        wall = time.monotonic() - started
        here.send("stop")
        counts = here.recv()
        process.join(timeout=30)
        plain = ("requests", "jpeg", "fits", "ok")
        injected = {k: v for k, v in sorted(counts.items()) if k not in plain}
        with open_store(result.path) as store:
            ids, images, positions = store.ids, store.read_images(), store.truth_table()
        expected = np.stack(
            [
                resize_cutout(parse_jpeg(server_module.make_jpeg(float(r), float(d), "des-dr1")), size=64)
                for r, d in zip(positions["ra"], positions["dec"], strict=True)
            ]
        )
        failed_ids = {bad.ident for bad in result.failures}
        in_order = list(ids) == [f"c{i:06d}" for i in range(args.n) if f"c{i:06d}" not in failed_ids]

    stats = result.stats
    print(f"rows in catalogue        {args.n}")
    print(f"rows stored              {result.n_stored} (catalogue order: {in_order})")
    print(f"rows failed              {len(result.failures)}")
    for bad in result.failures[:5]:
        print(f"  row {bad.row}: {bad.reason}")
    print(f"server requests          {counts.get('requests', 0)} ({counts.get('ok', 0)} served whole)")
    print(f"faults injected          {sum(injected.values())} {injected}")
    print(f"client requests          {stats.requests} ({stats.bytes_received / 1e6:.1f} MB received)")
    print(f"retries                  {stats.total_retries}")
    for kind, n in stats.retries.items():
        print(f"  {kind:<22} {n}")
    print(f"images equal clean ones  {bool(np.array_equal(images, expected))}")
    print(f"wall time                {wall:.1f} s")
    print(f"rows per second          {result.n_stored / wall:.1f}")
    print(result.summary())


if __name__ == "__main__":
    main()
