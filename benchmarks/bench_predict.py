"""Inference throughput of the Table-1 CNN: deepshadows's backends against Keras ``predict``.

Times the forward pass over the same random uint8 cutouts with PyTorch in float32 and (on CPUs
with native bfloat16) bfloat16, with ONNX Runtime on the exported model (float32), and, when
the ``bench`` extra is installed, Keras ``model.predict`` with the same weights. Each backend
runs at every batch size of ``--batch-sizes``, ``--repeats`` times, interleaved, and keeps its
best (the batch size is printed). Prints images per second, the ratio to
Keras and the largest difference of each backend's logits from PyTorch float32. Then times
``deepshadows predict`` end to end on a store (read, decode, forward, CSV) with the default
backend.

With ``--run RUN --data STORE`` the reduced-precision backends are also scored: test AUC of a
trained model in float32 and bfloat16 on the store's test split.

Usage: python benchmarks/bench_predict.py [--n 20000] [--batch-size 512] [--threads N]
       [--repeats 3] [--run runs/des --data data/des.h5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from deepshadows._device import cpu_supports_bf16
from deepshadows.data import StoreWriter, make_splits, open_store
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models import create_model, load_model, save_model
from deepshadows.predict import logits_to_probabilities, predict, predict_logits


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


def _timed(classify: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    logits = classify(images)
    return len(images) / (time.perf_counter() - start), logits


def _auc_check(run: Path, data: Path, batch_size: int) -> None:
    model, _ = load_model(run)
    with open_store(data) as store:
        rows = store.indices("test")
        images, labels = store.read_images(rows), store.labels[rows]
    for precision in ["fp32", "bf16"] if cpu_supports_bf16() else ["fp32"]:
        logits = predict_logits(model, images, batch_size=batch_size, precision=precision)
        auc = binary_metrics(labels, logits_to_probabilities(logits))["auc"]
        print(f"  test AUC of {run} on {data}, {precision}: {auc:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64, help="batch of the store runs")
    parser.add_argument("--batch-sizes", default="32,64,256,512", help="batches of the forward timings")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--skip-keras", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model("deepshadows-table1").eval()
    images = np.random.default_rng(1).integers(0, 256, (args.images, 64, 64, 3), dtype=np.uint8)
    bs = args.batch_size

    backends: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
        "PyTorch fp32": lambda x, b: predict_logits(model, x, batch_size=b),
    }
    if cpu_supports_bf16():
        backends["PyTorch bf16"] = lambda x, b: predict_logits(model, x, batch_size=b, precision="bf16")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        weights = save_model(model, tmp / "run" / "model.safetensors", metadata={"threshold": 0.5})
        try:
            from deepshadows.export import export_onnx
            from deepshadows.predict.onnx_backend import OnnxClassifier

            onnx_model = OnnxClassifier(export_onnx(weights, tmp / "model.onnx"), threads=args.threads)
            backends["ONNX Runtime fp32"] = lambda x, b: onnx_model.logits(x, batch_size=b)
        except Exception as exc:  # the onnx extra is optional
            print(f"ONNX Runtime backend unavailable ({exc})")
        import keras_table1

        if not args.skip_keras and keras_table1.available():
            keras_table1.set_threads(args.threads)
            keras_model = keras_table1.build_model()
            keras_table1.copy_torch_weights(keras_model, model)
            keras_label = f"Keras predict ({keras_table1.describe(keras_model)})"

            def keras_logits(x: np.ndarray, b: int) -> np.ndarray:
                _, prob = keras_table1.predict_throughput(x, batch_size=b, model=keras_model)
                p = np.clip(prob.astype(np.float64), 1e-12, 1 - 1e-12)
                return np.log(p / (1 - p))

            backends[keras_label] = keras_logits
        else:
            print("Keras/TensorFlow not installed (pip install -e '.[bench]'): no yardstick")

        sizes = [int(b) for b in args.batch_sizes.split(",")]
        for classify in backends.values():
            for b in sizes:
                classify(images[: 2 * b], b)  # warm up (and trace every batch shape)
        rates = {name: (0.0, 0) for name in backends}
        logits: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for b in sizes:
                for name, classify in backends.items():
                    rate, logits[name] = _timed(lambda x, c=classify, b=b: c(x, b), images)
                    rates[name] = max(rates[name], (rate, b))
        keras = next((rate for name, (rate, _) in rates.items() if name.startswith("Keras")), None)
        reference = logits["PyTorch fp32"]
        print(
            f"inference, {args.images} cutouts, {args.threads} threads, best of {args.repeats} runs "
            f"at each batch size of {sizes}:"
        )
        for name, (rate, b) in rates.items():
            ratio = f"  {rate / keras:.2f} x Keras" if keras else ""
            diff = float(np.max(np.abs(logits[name] - reference)))
            print(
                f"  {name}: {rate:.0f} images/s at batch {b}{ratio}  (max |logit - PyTorch fp32| {diff:.1e})"
            )

        store = _store(tmp / "bench.h5", args.n)
        result = predict(tmp / "run", store, tmp / "out.csv", batch_size=bs, progress=False)
        print(
            f"deepshadows predict on a {args.n}-row store (read, decode, forward, CSV), "
            f"PyTorch, default precision: "
            f"{result['rows_per_second']:.0f} rows/s"
        )
        if "ONNX Runtime fp32" in backends:
            result = predict(tmp / "model.onnx", store, tmp / "out2.csv", batch_size=bs, progress=False)
            print(
                f"deepshadows predict on a {args.n}-row store, ONNX Runtime: "
                f"{result['rows_per_second']:.0f} rows/s"
            )
    if args.run is not None and args.data is not None:
        _auc_check(args.run, args.data, bs)


if __name__ == "__main__":
    main()
