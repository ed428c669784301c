"""Inference throughput of the Table-1 CNN: the forward pass alone and ``predict`` on a store.

Usage: python benchmarks/bench_predict.py [--n 20000] [--batch-size 512] [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepshadows.data import StoreWriter, make_splits
from deepshadows.models import create_model, save_model
from deepshadows.predict import predict, predict_logits


def _store(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    with StoreWriter(
        path, n_total=n, feature_dtype=None, truth_dtype=None, attrs={"config": {"bench": n}}
    ) as w:
        for start in range(0, n, 2048):
            k = min(2048, n - start)
            w.append(
                {
                    "images": rng.integers(0, 256, (k, 64, 64, 3), dtype=np.uint8),
                    "label": rng.integers(0, 2, k).astype(np.int8),
                    "kind": np.array(["lsbg"] * k),
                    "subclass": np.array([""] * k),
                    "id": np.array([f"obj{start + i}" for i in range(k)]),
                }
            )
        return w.finalize(
            make_splits(np.zeros(n), seed=0), split_fractions=(0.75, 0.125, 0.125), split_seed=0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model("deepshadows-table1").eval()
    images = np.random.default_rng(1).integers(0, 256, (4096, 64, 64, 3), dtype=np.uint8)
    predict_logits(model, images[:512], batch_size=args.batch_size)  # warm up
    start = time.perf_counter()
    predict_logits(model, images, batch_size=args.batch_size)
    rate = len(images) / (time.perf_counter() - start)
    label = f"PyTorch eager, fp32, {args.threads} threads, batch {args.batch_size}"
    print(f"forward pass ({label}): {rate:.0f} images/s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = _store(tmp / "bench.h5", args.n)
        save_model(model, tmp / "run" / "model.safetensors", metadata={"threshold": 0.5})
        result = predict(tmp / "run", store, tmp / "out.csv", batch_size=args.batch_size, progress=False)
    rate = result["rows_per_second"]
    print(f"predict on a {args.n}-row store (read, decode, forward, CSV): {rate:.0f} rows/s")


if __name__ == "__main__":
    main()
