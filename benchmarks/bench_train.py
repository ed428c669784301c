"""Training throughput of the Table-1 CNN (images per second, batch 64, Adadelta, L2 penalties).

Usage: python benchmarks/bench_train.py [--steps 60] [--batch-size 64] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deepshadows.data import to_float
from deepshadows.models import create_model
from deepshadows.training.loop import train_one_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch_size * 8, 64, 64, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, args.batch_size * 8).astype(np.int8)
    x_all = torch.from_numpy(to_float(images))
    y_all = torch.from_numpy(labels)
    batches = [
        (x_all[i : i + args.batch_size], y_all[i : i + args.batch_size])
        for i in range(0, len(x_all), args.batch_size)
    ]
    model = create_model("deepshadows-table1")
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1, rho=0.95, eps=1e-7)
    device = torch.device("cpu")
    train_one_epoch(model, batches[:2], optimizer, device=device)  # warm up
    steps = [batches[i % len(batches)] for i in range(args.steps)]
    start = time.perf_counter()
    train_one_epoch(model, steps, optimizer, device=device)
    elapsed = time.perf_counter() - start
    rate = args.steps * args.batch_size / elapsed
    print(
        f"train deepshadows-table1 (PyTorch eager, fp32, {args.threads} threads, batch {args.batch_size}): "
        f"{rate:.0f} images/s"
    )


if __name__ == "__main__":
    main()
