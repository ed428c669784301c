"""Memory and time of writing a large prediction table in each format (not a timed test).

A synthetic prediction CSV of ``--rows`` rows (what ``predict`` leaves in ``<out>.partial``) and a
store-like HDF5 file with the same ids, a ``truth`` table (row, ra, dec) and two features are
written first; then each format is written by
:func:`deepshadows.predict.table_output.write_predictions`, carrying ra, dec and one feature, in
a fresh process whose peak resident memory is reported (``ru_maxrss``) beside that of a process
that only imports the package.

    python benchmarks/predict_tables.py --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

FORMATS = {"csv": ".csv", "fits": ".fits", "parquet": ".parquet", "ecsv": ".ecsv", "votable": ".vot"}
HEADER = ["id", "probability", "label"]


def make_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    partial = folder / "scores.partial"
    store = folder / "store.h5"
    ids = np.char.add("DES_", np.arange(n).astype("U12"))
    truth = np.zeros(n, dtype=[("row", "i8"), ("ra", "f8"), ("dec", "f8")])
    truth["row"], truth["ra"], truth["dec"] = (
        np.arange(1, n + 1),
        rng.uniform(0, 360, n),
        rng.uniform(-60, 5, n),
    )
    features = np.zeros(n, dtype=[("mag_auto_g", "f4"), ("flux_radius_g", "f4")])
    features["mag_auto_g"] = rng.uniform(18, 25, n)
    with h5py.File(store, "w") as f:
        f["id"] = np.char.encode(ids, "utf-8").astype("S64")
        f["truth"] = truth
        f["features"] = features
    p = rng.random(n)
    with open(partial, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for lo in range(0, n, 1 << 16):
            hi = min(n, lo + (1 << 16))
            writer.writerows(
                zip(
                    ids[lo:hi].tolist(),
                    (format(v, ".8g") for v in p[lo:hi]),
                    (p[lo:hi] > 0.5).astype(int),
                    strict=True,
                )
            )
    return partial, store


def child(fmt: str, partial: Path, store: Path, out: Path) -> None:
    from deepshadows.predict.store_columns import StoreColumns
    from deepshadows.predict.table_output import write_predictions

    began = time.perf_counter()
    if fmt != "none":
        extra = StoreColumns(store, ["mag_auto_g"])
        write_predictions(partial, out, fmt, HEADER, extra=extra, meta={"MODEL": "bench"})
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{fmt}\t{seconds:.2f}\t{peak_mb:.0f}\t{out.stat().st_size / 1e6 if out.exists() else 0:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--formats", default="csv,fits,parquet,ecsv,votable")
    parser.add_argument(
        "--child", nargs=4, metavar=("FMT", "PARTIAL", "STORE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        fmt, partial, store, out = args.child
        child(fmt, Path(partial), Path(store), Path(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        partial, store = make_inputs(folder, args.rows)
        print(f"{args.rows} rows; partial CSV {partial.stat().st_size / 1e6:.1f} MB")
        print("format\tseconds\tpeak RSS MB\tfile MB")
        for fmt in ["none", *args.formats.split(",")]:
            out = folder / f"out{FORMATS.get(fmt, '.none')}"
            cmd = [sys.executable, __file__, "--child", fmt, str(partial), str(store), str(out)]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            print(result.stdout.strip() or f"{fmt}\tfailed: {result.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
