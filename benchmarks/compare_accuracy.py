"""Test AUC after the same number of epochs: our trainer in float32 and bfloat16, and Keras.

Trains the Table-1 model on the train split of a store for ``--epochs`` epochs (batch 64,
Adadelta 0.1, shuffled every epoch) three ways: our training step in float32, the same in
bfloat16 mixed precision (the default on CPUs with native bfloat16), and the Keras/TensorFlow
yardstick when the ``bench`` extra is installed. Each model is scored on the test split after
its last epoch (not the best by validation), with the AUC and accuracy of the package's
metrics. Prints one line per implementation with AUC, accuracy, wall time and images/s.

Usage: python benchmarks/compare_accuracy.py data/des.h5 [--epochs 10] [--seed 0] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deepshadows._device import cpu_supports_bf16
from deepshadows.data import open_store
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models import create_model
from deepshadows.predict import predict_logits
from deepshadows.training.fit import TrainConfig, make_optimizer
from deepshadows.training.loop import train_one_epoch


def train_ours(
    train: tuple[np.ndarray, np.ndarray], *, epochs: int, seed: int, precision: str, batch_size: int
) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(seed)
    model = create_model("deepshadows-table1").to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, TrainConfig(seed=seed))
    images, labels = train
    device = torch.device("cpu")
    start = time.perf_counter()
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(images))
        batches = (
            (images[order[i : i + batch_size]], labels[order[i : i + batch_size]])
            for i in range(0, len(order), batch_size)
        )
        row = train_one_epoch(model, batches, optimizer, device=device, precision=precision)
        line = f"  {precision} epoch {epoch + 1}: loss {row['loss']:.4f} acc {row['accuracy']:.3f}"
        print(line, flush=True)
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--skip-keras", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open_store(args.store) as store:
        train_rows, test_rows = store.indices("train"), store.indices("test")
        labels = store.labels.astype(np.int64)
        train = (store.read_images(train_rows), labels[train_rows])
        test = (store.read_images(test_rows), labels[test_rows])
    print(f"{len(train[0])} training and {len(test[0])} test cutouts from {args.store}, {args.epochs} epochs")
    precisions = ["fp32", "bf16"] if cpu_supports_bf16() else ["fp32"]
    results = []
    for precision in precisions:
        model, seconds = train_ours(
            train, epochs=args.epochs, seed=args.seed, precision=precision, batch_size=args.batch_size
        )
        probs = torch.sigmoid(torch.from_numpy(predict_logits(model, test[0]))).numpy()
        m = binary_metrics(test[1], probs)
        results.append((f"deepshadows ({precision})", m["auc"], m["accuracy"], seconds))
    import keras_table1

    if not args.skip_keras and keras_table1.available():
        keras_table1.set_threads(args.threads)
        k = keras_table1.fit_and_score(
            *train, *test, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
        )
        results.append(("Keras/TensorFlow", k["auc"], k["accuracy"], k["seconds"]))
    n_images = args.epochs * len(train[0])
    for name, auc, acc, seconds in results:
        print(
            f"{name:24s} test AUC {auc:.4f}  accuracy {acc:.4f}  "
            f"{seconds:7.1f} s  {n_images / seconds:6.0f} images/s"
        )


if __name__ == "__main__":
    main()
