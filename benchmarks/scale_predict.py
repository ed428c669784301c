"""``deepshadows predict`` on a million cutouts: peak memory, throughput, and a kill and resume.

Builds a store of ``--n`` cutouts (smooth synthetic skies with a blob, cycled from a few
thousand distinct ones so the file is quick to write), then runs ``deepshadows predict`` on it
as a separate process with the model given (by default a fresh Table-1 model, exported to ONNX
with ``--onnx``). The first run is killed with SIGKILL once ``--kill-at`` of the rows are in the
partial CSV; ``--resume`` then finishes it. Prints the peak resident memory of each process
(``VmHWM``), the rows per second, and checks that the final CSV holds every id once, in store
order, and that a sample of its probabilities equals a direct computation. A second, smaller
store (``--n // 10``) shows the peak memory does not grow with the input.

Usage: python benchmarks/scale_predict.py [--n 1000000] [--onnx] [--kill-at 0.5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepshadows.data import StoreWriter, open_store
from deepshadows.models import create_model, save_model
from deepshadows.predict import logits_to_probabilities, predict_logits

DISTINCT = 4096
BLOCK = 8192


def synthetic_cutouts(n: int, seed: int = 0) -> np.ndarray:
    """Smooth skies with one Gaussian blob each: realistic enough to compress like cutouts."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64].astype(np.float32)
    out = np.empty((n, 64, 64, 3), dtype=np.uint8)
    for i in range(n):
        x0, y0, r = rng.uniform(16, 48), rng.uniform(16, 48), rng.uniform(2, 10)
        blob = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * r * r))
        colour = rng.uniform(20, 120, 3)
        sky = 18 + rng.normal(0, 2, (64, 64, 1))
        out[i] = np.clip(sky + blob[..., None] * colour, 0, 255).astype(np.uint8)
    return out


def build_store(path: Path, n: int) -> Path:
    distinct = synthetic_cutouts(DISTINCT)
    with StoreWriter(path, n_total=n, feature_dtype=None, truth_dtype=None, attrs={"config": {"n": n}}) as w:
        for start in range(0, n, BLOCK):
            k = min(BLOCK, n - start)
            rows = np.arange(start, start + k)
            w.append(
                {
                    "images": distinct[rows % DISTINCT],
                    "label": np.full(k, -1, dtype=np.int8),
                    "kind": np.array([""] * k),
                    "subclass": np.array([""] * k),
                    "id": np.char.add("cand-", rows.astype(str)),
                }
            )
        return w.finalize(np.array([""] * n), split_fractions=None, split_seed=None)


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def run_predict(model: Path, store: Path, out: Path, *, resume: bool, kill_after: int | None) -> dict:
    """Run ``deepshadows predict`` in a child process; kill it once ``kill_after`` rows are out."""
    cmd = [
        sys.executable,
        "-m",
        "deepshadows",
        "predict",
        str(model),
        str(store),
        "--out",
        str(out),
        "--quiet",
    ]
    if resume:
        cmd.append("--resume")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, killed = 0.0, False
    partial = out.with_name(out.name + ".partial")
    while proc.poll() is None:
        try:
            peak = max(peak, peak_rss_mb(proc.pid))
        except OSError:
            break
        if kill_after is not None and count_lines(partial) - 1 >= kill_after:
            peak = max(peak, peak_rss_mb(proc.pid))
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.5)
    output = proc.communicate()[0]
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"predict failed ({proc.returncode}):\n{output}")
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": peak,
        "killed": killed,
        "output": output.strip(),
    }


def check_output(out: Path, store: Path, model: torch.nn.Module, n: int) -> None:
    with open(out, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        ids, probs = [], []
        for row in reader:
            ids.append(row[0])
            probs.append(float(row[1]))
    assert len(ids) == n, f"{len(ids)} rows, expected {n}"
    expected = [f"cand-{i}" for i in range(n)]
    assert ids == expected, "ids missing, repeated or out of order"
    sample = np.random.default_rng(0).choice(n, 256, replace=False)
    sample.sort()
    with open_store(store) as s:
        direct = logits_to_probabilities(predict_logits(model, s.read_images(sample)))
    worst = float(np.max(np.abs(np.asarray(probs)[sample] - direct)))
    assert worst < 1e-4, f"probabilities differ from a direct computation by {worst}"
    print(f"  output checked: {n} rows, every id once and in order; sampled probabilities within {worst:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--onnx", action="store_true", help="Predict with the ONNX Runtime backend.")
    parser.add_argument("--kill-at", type=float, default=0.5)
    parser.add_argument("--keep", type=Path, default=None, help="Folder to build in and keep.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="deepshadows-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = create_model("deepshadows-table1").eval()
    model_path = save_model(model, folder / "model.safetensors", metadata={"threshold": 0.5})
    if args.onnx:
        from deepshadows.export import export_onnx

        model_path = export_onnx(model_path, folder / "model.onnx", overwrite=True)
    backend = "ONNX Runtime" if args.onnx else "PyTorch fp32"
    for n in (args.n // 10, args.n):
        store = folder / f"cutouts_{n}.h5"
        if not store.exists():
            start = time.perf_counter()
            build_store(store, n)
            print(
                f"built {store.name}: {n} rows, {store.stat().st_size / 1e9:.2f} GB "
                f"in {time.perf_counter() - start:.0f} s"
            )
        out = folder / f"pred_{n}.csv"
        out.unlink(missing_ok=True)
        out.with_name(out.name + ".partial").unlink(missing_ok=True)
        kill_after = int(n * args.kill_at) if n == args.n else None
        first = run_predict(model_path, store, out, resume=False, kill_after=kill_after)
        done_first = count_lines(out.with_name(out.name + ".partial")) - 1 if first["killed"] else n
        state = f"killed after {done_first} rows" if first["killed"] else "done"
        print(
            f"predict {n} rows ({backend}): {state} in {first['seconds']:.0f} s, "
            f"peak memory {first['peak_mb']:.0f} MB"
        )
        if first["killed"]:
            second = run_predict(model_path, store, out, resume=True, kill_after=None)
            rate = (n - done_first) / second["seconds"]
            print(
                f"  --resume: {n - done_first} more rows in {second['seconds']:.0f} s ({rate:.0f} rows/s "
                f"with start-up), peak memory {second['peak_mb']:.0f} MB; {second['output']}"
            )
        else:
            print(f"  {first['output']}")
        check_output(out, store, model, n)
    if args.keep is None:
        for path in folder.iterdir():
            path.unlink()
        os.rmdir(folder)


if __name__ == "__main__":
    main()
