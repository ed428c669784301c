"""Training throughput of the Table-1 CNN: deepshadows against the Keras/TensorFlow yardstick.

Times optimisation steps (batch 64, Adadelta, the L2 penalties) on the same random cutouts:
deepshadows's training step as ``deepshadows train`` runs it (precision ``auto``, with its
default on-the-fly augmentation), the same without augmentation and in float32, PyTorch's
plain eager recipe (``nn.Dropout``, ``torch.optim.Adadelta``, the penalty differentiated in the
loss, contiguous float input) for reference, and, when the ``bench`` extra is installed, the
same model in Keras (``model.fit``). Each is timed ``--repeats`` times, interleaved, and its
best time is kept. Prints images per second and the ratios to Keras.

Usage: python benchmarks/bench_train.py [--steps 60] [--batch-size 64] [--threads N] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from deepshadows._device import resolve_precision
from deepshadows.augment import AugmentConfig, Augmenter
from deepshadows.data import to_float
from deepshadows.models import create_model
from deepshadows.training.fit import TrainConfig, make_optimizer
from deepshadows.training.loop import train_one_epoch

CPU = torch.device("cpu")


def deepshadows_step(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    precision: str,
    augment: bool = False,
    *,
    architecture: str = "deepshadows-table1",
    model_kwargs: dict | None = None,
) -> Callable[[int], None]:
    """Return ``run(steps)`` for deepshadows's training step, warmed up (compilation done).

    With ``augment`` every batch goes through the default augmentation first, as in ``train``.
    ``architecture`` and ``model_kwargs`` choose the network; it trains with its architecture's
    default optimizer, as ``deepshadows train --model`` does.
    """
    torch.manual_seed(0)
    model = create_model(architecture, **(model_kwargs or {})).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, TrainConfig(model=architecture))
    batches = [
        (images[i : i + batch_size], labels[i : i + batch_size]) for i in range(0, len(images), batch_size)
    ]
    augmenter = Augmenter(AugmentConfig(), seed=0) if augment else None

    def run(steps: int) -> None:
        chosen = (batches[i % len(batches)] for i in range(steps))
        if augmenter is not None:
            chosen = ((augmenter(x), y) for x, y in chosen)
        train_one_epoch(model, chosen, optimizer, device=CPU, precision=precision)

    run(3)
    return run


def eager_reference_step(images: np.ndarray, labels: np.ndarray, batch_size: int) -> Callable[[int], None]:
    """Return ``run(steps)`` for the plain eager PyTorch recipe of the same model."""
    torch.manual_seed(0)
    model = create_model("deepshadows-table1")
    for block in model.blocks:
        block.drop = nn.Dropout(model.drop_rate)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1, rho=0.95, eps=1e-7)
    x_all, y_all = torch.from_numpy(to_float(images)), torch.from_numpy(labels.astype(np.float32))

    def run(steps: int) -> None:
        model.train()
        for i in range(steps):
            lo = (i * batch_size) % len(x_all)
            x, y = x_all[lo : lo + batch_size], y_all[lo : lo + batch_size]
            loss = nn.functional.binary_cross_entropy_with_logits(model(x), y) + model.l2_penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    run(2)
    return run


def timed(run: Callable[[int], None], batch_size: int) -> Callable[[int], float]:
    """Wrap ``run(steps)`` into ``rate(steps)``, images per second."""

    def rate(steps: int) -> float:
        start = time.perf_counter()
        run(steps)
        return steps * batch_size / (time.perf_counter() - start)

    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-keras", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.batch_size * 8
    images = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, n).astype(np.int8)

    auto = resolve_precision("auto", CPU)
    bs = args.batch_size
    runners: dict[str, Callable[[int], float]] = {
        f"deepshadows train (default: {auto}, augmented)": timed(
            deepshadows_step(images, labels, bs, auto, augment=True), bs
        ),
        f"deepshadows train ({auto}, --augment none)": timed(deepshadows_step(images, labels, bs, auto), bs),
    }
    if auto != "fp32":
        runners["deepshadows train (fp32)"] = timed(deepshadows_step(images, labels, bs, "fp32"), bs)
    runners["PyTorch eager reference (fp32)"] = timed(eager_reference_step(images, labels, bs), bs)
    import keras_table1

    if not args.skip_keras and keras_table1.available():
        keras_table1.set_threads(args.threads)
        model = keras_table1.build_model()
        keras_table1.train_throughput(images, labels, batch_size=args.batch_size, steps=2, model=model)
        label = f"Keras/TensorFlow model.fit ({keras_table1.describe(model)})"

        def keras_run(steps: int) -> float:  # times model.fit after a warm-up fit of 2 steps
            return keras_table1.train_throughput(images, labels, batch_size=bs, steps=steps, model=model)

        runners[label] = keras_run
    else:
        print("Keras/TensorFlow not installed (pip install -e '.[bench]'): no yardstick")

    rates = {name: 0.0 for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            rates[name] = max(rates[name], run(args.steps))
    keras = next((rate for name, rate in rates.items() if name.startswith("Keras")), None)
    print(f"training, batch {bs}, {args.threads} threads, best of {args.repeats} x {args.steps} steps:")
    for name, rate in rates.items():
        ratio = f"  {rate / keras:.2f} x Keras" if keras else ""
        print(f"  {name}: {rate:.0f} images/s{ratio}")


if __name__ == "__main__":
    main()
