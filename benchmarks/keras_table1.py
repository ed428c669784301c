"""The Table-1 DeepShadows CNN in Keras/TensorFlow: a speed and accuracy yardstick for the benchmarks.

This module is never imported by the ``deepshadows`` package. It rebuilds the model of
:class:`deepshadows.models.table1.DeepShadowsCNN` the way the paper's authors wrote it, in Keras
(Conv2D 3x3 "same" + ReLU with kernel L2 0.13 -> BatchNormalization -> MaxPooling2D 2x2 ->
Dropout 0.4, three times with 16, 32 and 64 filters; Flatten; Dense 1024 ReLU with kernel L2
0.12; Dense 1 sigmoid, or softmax for several classes), compiled with Keras defaults apart from
the paper's optimizer (Adadelta, learning rate 0.1, rho 0.95, epsilon 1e-7) and loss. It serves
to time ``model.fit`` and ``model.predict`` as a Keras user gets them, and to compare accuracy
after the same number of epochs as the PyTorch trainer.

TensorFlow and Keras are imported inside the functions, so importing this module never fails
where they are absent (install the ``bench`` extra: ``pip install -e '.[bench]'``); check with
:func:`available`. Keras is forced onto its TensorFlow backend.

Images are given as in the data store: uint8 arrays of shape (N, H, W, 3), channels last; they are
converted to float32 in [0, 1] (divided by 255) before any timing starts. Floating-point arrays
are taken as already scaled.

Usage as a script: ``python benchmarks/keras_table1.py [--threads N] [--steps 60] [--images 2048]``
prints :func:`describe`, the training throughput and the prediction throughput for batch sizes
64, 256 and 1024.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "available",
    "build_model",
    "copy_torch_weights",
    "describe",
    "fit_and_score",
    "predict_throughput",
    "set_threads",
    "train_throughput",
]

_FILTERS = (16, 32, 64)
_HIDDEN = 1024
_DROP_RATE = 0.4
_CONV_L2 = 0.13
_DENSE_L2 = 0.12
_BN_MOMENTUM = 0.99
_BN_EPS = 1e-3

#: ``jit_compile`` of the model most recently built by :func:`build_model` (None before any).
_last_jit_compile: bool | None = None


def _import_keras() -> Any:
    """Import Keras on the TensorFlow backend and return the ``keras`` module.

    Raises
    ------
    ImportError
        If TensorFlow or Keras is not installed.
    RuntimeError
        If Keras was already imported with another backend.
    """
    # Hide TensorFlow's C++ INFO lines (oneDNN and CPU-feature notices); warnings still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow  # noqa: F401  (the backend must be importable)

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(f"Keras already runs on the {backend!r} backend; this yardstick needs TensorFlow")
    return keras


def available() -> bool:
    """Return whether TensorFlow and Keras (on the TensorFlow backend) can be imported.

    Returns
    -------
    bool
        True when :func:`build_model` can work.
    """
    try:
        _import_keras()
    except Exception:  # an ImportError, but a broken TF install raises other errors too
        return False
    return True


def set_threads(n: int) -> None:
    """Run TensorFlow with ``n`` intra-op threads and one inter-op thread.

    Must be called before TensorFlow initialises its runtime (before any model is built or any
    tensor created), as TensorFlow fixes its thread pools then.

    The inter-op pool is set to one thread so that ops run one after the other, each using the
    ``n`` intra-op threads: this is the execution model of PyTorch with
    ``torch.set_num_threads(n)``, so the two frameworks get the same number of cores. With the
    default (one inter-op thread per core) independent ops, such as the per-variable optimizer
    updates or the L2 terms, run concurrently, each on the intra-op pool, and ask for more than
    ``n`` cores. The model is a single chain of layers, so there is little op-level parallelism to
    gain. The threads of ``tf.data`` (which ``model.fit`` uses to feed arrays) are not limited by
    this setting.

    Parameters
    ----------
    n : int
        Intra-op threads, at least 1.

    Raises
    ------
    ValueError
        If ``n`` is below 1.
    RuntimeError
        If TensorFlow is already initialised.
    """
    if int(n) < 1:
        raise ValueError(f"n: must be at least 1, got {n}")
    _import_keras()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError as exc:
        raise RuntimeError(f"set_threads must be called before TensorFlow initialises: {exc}") from exc


def describe(model: keras.Model | None = None) -> str:
    """Return one line naming the TensorFlow and Keras versions, backend, XLA setting and threads.

    Parameters
    ----------
    model : keras.Model, optional
        Report this model's ``jit_compile``; by default that of the model most recently built by
        :func:`build_model` (Keras's default ``jit_compile="auto"`` resolves to False on a
        machine with only CPUs).

    Returns
    -------
    str
        For example ``"TensorFlow 2.21.0, Keras 3.15.1 (backend tensorflow), jit_compile=False,
        intra-op threads 2, inter-op threads 1, oneDNN default"``.
    """
    keras_mod = _import_keras()
    import tensorflow as tf

    jit = model.jit_compile if model is not None else _last_jit_compile
    jit_text = "no model built yet" if jit is None else str(jit)
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    backend = keras_mod.backend.backend()
    return (
        f"TensorFlow {tf.__version__}, Keras {keras_mod.__version__} (backend {backend}), "
        f"jit_compile={jit_text}, intra-op threads {intra or f'default ({os.cpu_count()} cores)'}, "
        f"inter-op threads {inter or 'default'}, oneDNN {onednn}"
    )


def build_model(num_classes: int = 1, image_size: int = 64, seed: int = 0) -> keras.Model:
    """Build and compile the Table-1 model in Keras.

    Parameters
    ----------
    num_classes : int, optional
        1 for the binary model (one sigmoid output, binary cross-entropy), or K > 1 (softmax
        over K outputs, sparse categorical cross-entropy on integer labels).
    image_size : int, optional
        Side of the square RGB input; a multiple of 8.
    seed : int, optional
        Seed of Python, NumPy and TensorFlow (``keras.utils.set_random_seed``): fixes the
        Glorot-uniform initialisation and the dropout masks.

    Returns
    -------
    keras.Model
        Compiled with Adadelta(learning_rate=0.1, rho=0.95, epsilon=1e-7), the loss above and the
        accuracy metric; every other compile argument (``jit_compile``, ``steps_per_execution``,
        ...) is left at its Keras default. The binary model for 64x64 input has 4,220,385
        parameters (4,220,161 trainable).

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    global _last_jit_compile
    if int(num_classes) < 1:
        raise ValueError(f"num_classes: must be at least 1, got {num_classes}")
    if int(image_size) < 8 or int(image_size) % 8:
        raise ValueError(f"image_size: must be a positive multiple of 8, got {image_size}")
    keras_mod = _import_keras()
    layers, regularizers = keras_mod.layers, keras_mod.regularizers
    keras_mod.utils.set_random_seed(int(seed))

    inputs = keras_mod.Input(shape=(int(image_size), int(image_size), 3), name="image")
    x = inputs
    for i, filters in enumerate(_FILTERS, start=1):
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            activation="relu",
            kernel_regularizer=regularizers.L2(_CONV_L2),
            name=f"conv{i}",
        )(x)
        x = layers.BatchNormalization(momentum=_BN_MOMENTUM, epsilon=_BN_EPS, name=f"bn{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.Dropout(_DROP_RATE, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(_HIDDEN, activation="relu", kernel_regularizer=regularizers.L2(_DENSE_L2), name="fc")(x)
    binary = int(num_classes) == 1
    outputs = layers.Dense(int(num_classes), activation="sigmoid" if binary else "softmax", name="head")(x)
    model = keras_mod.Model(inputs, outputs, name="deepshadows_table1")
    model.compile(
        optimizer=keras_mod.optimizers.Adadelta(learning_rate=0.1, rho=0.95, epsilon=1e-7),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    _last_jit_compile = bool(model.jit_compile)
    return model


def copy_torch_weights(keras_model: keras.Model, torch_model: Any) -> None:
    """Copy the parameters and BatchNorm running statistics of a ``DeepShadowsCNN`` into Keras.

    Convolution kernels go from (out, in, kh, kw) to (kh, kw, in, out); dense kernels are
    transposed. The PyTorch model flattens in channels-last order, as Keras's ``Flatten`` does,
    so the rows of the first dense kernel map one to one. BatchNorm weight, bias, running mean
    and running variance become gamma, beta, moving mean and moving variance.

    Parameters
    ----------
    keras_model : keras.Model
        A model from :func:`build_model` with the same number of classes and input size.
    torch_model : deepshadows.models.table1.DeepShadowsCNN
        The source model (left unchanged).

    Raises
    ------
    ValueError
        If the two models do not have matching layers and shapes.
    """
    blocks = list(torch_model.blocks)
    if len(blocks) != len(_FILTERS):
        raise ValueError(f"torch_model: expected {len(_FILTERS)} blocks, got {len(blocks)}")

    def arr(tensor: Any) -> np.ndarray:
        return tensor.detach().cpu().numpy().astype(np.float32)

    assignments: list[tuple[str, list[np.ndarray]]] = []
    for i, block in enumerate(blocks, start=1):
        assignments.append((f"conv{i}", [arr(block.conv.weight).transpose(2, 3, 1, 0), arr(block.conv.bias)]))
        bn = block.bn
        assignments.append(
            (f"bn{i}", [arr(bn.weight), arr(bn.bias), arr(bn.running_mean), arr(bn.running_var)])
        )
    assignments.append(("fc", [arr(torch_model.fc.weight).T, arr(torch_model.fc.bias)]))
    assignments.append(("head", [arr(torch_model.head.weight).T, arr(torch_model.head.bias)]))

    for name, values in assignments:
        try:
            layer = keras_model.get_layer(name)
        except ValueError as exc:
            raise ValueError(f"keras_model: has no layer {name!r}; build it with build_model") from exc
        current = layer.get_weights()
        shapes = [w.shape for w in current]
        expected = [v.shape for v in values]
        if shapes != expected:
            raise ValueError(f"layer {name!r}: Keras shapes {shapes} differ from PyTorch shapes {expected}")
        layer.set_weights(values)


def _as_input(images: np.ndarray) -> np.ndarray:
    """Return images as float32 (N, H, W, 3) in [0, 1]: uint8 divided by 255, floats as given."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2] or not len(images):
        raise ValueError(f"images: expected a non-empty array of shape (N, S, S, 3), got {images.shape}")
    if images.dtype == np.uint8:
        out = images.astype(np.float32)
        np.divide(out, np.float32(255), out=out)
        return out
    if np.issubdtype(images.dtype, np.floating):
        return np.ascontiguousarray(images, dtype=np.float32)
    raise ValueError(f"images: expected uint8 or floating-point values, got {images.dtype}")


def _num_classes(*label_arrays: np.ndarray) -> int:
    """Return 1 for 0/1 labels, else the number of classes (largest label plus one)."""
    top = max(int(np.max(labels)) for labels in label_arrays)
    return 1 if top <= 1 else top + 1


def _as_labels(labels: np.ndarray, n: int, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    if labels.shape != (n,):
        raise ValueError(f"labels: expected {n} labels, got shape {np.shape(labels)}")
    if np.any(labels < 0) or np.any(labels >= max(num_classes, 2)):
        raise ValueError(f"labels: expected integers in [0, {max(num_classes, 2)})")
    return labels.astype(np.float32) if num_classes == 1 else labels.astype(np.int32)


def train_throughput(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 64,
    steps: int = 60,
    model: keras.Model | None = None,
) -> float:
    """Return the training throughput of ``model.fit`` in images per second.

    The images are converted to float32 and cycled to ``steps * batch_size`` samples beforehand;
    a warm-up ``fit`` of two steps traces the training function and builds the optimizer
    state; then one ``fit`` epoch of ``steps`` full batches, without shuffling (as the PyTorch
    benchmark) and ``verbose=0``, is timed.

    Parameters
    ----------
    images : ndarray of shape (N, S, S, 3)
        uint8 cutouts (or floats already in [0, 1]).
    labels : ndarray of shape (N,)
        0/1 labels for the binary model; class indices for several classes.
    batch_size : int, optional
        Samples per step.
    steps : int, optional
        Timed training steps.
    model : keras.Model, optional
        Model to train (it is trained in place); by default a fresh :func:`build_model` with the
        number of classes of ``labels``, the size of ``images`` and seed 0.

    Returns
    -------
    float
        ``steps * batch_size / seconds``.

    Raises
    ------
    ValueError
        If the arguments are inconsistent.
    """
    if int(batch_size) < 1 or int(steps) < 1:
        raise ValueError(f"batch_size and steps: must be at least 1, got {batch_size} and {steps}")
    x_all = _as_input(images)
    num_classes = _num_classes(labels) if model is None else int(model.output_shape[-1])
    y_all = _as_labels(labels, len(x_all), num_classes)
    if model is None:
        model = build_model(num_classes, image_size=x_all.shape[1])
    batch_size, steps = int(batch_size), int(steps)
    index = np.resize(np.arange(len(x_all)), steps * batch_size)
    x, y = x_all[index], y_all[index]
    warm = 2 * batch_size
    model.fit(x[:warm], y[:warm], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def predict_throughput(
    images: np.ndarray,
    *,
    batch_size: int = 256,
    repeats: int = 1,
    model: keras.Model | None = None,
) -> tuple[float, np.ndarray]:
    """Return the inference throughput of ``model.predict`` in images per second, and its output.

    The images are converted to float32 beforehand; a warm-up ``predict`` on one batch (and on
    the size of the last, partial batch, if any) traces the prediction function; then
    ``repeats`` calls of ``model.predict(x, batch_size=batch_size, verbose=0)`` over all images
    are timed.

    Parameters
    ----------
    images : ndarray of shape (N, S, S, 3)
        uint8 cutouts (or floats already in [0, 1]).
    batch_size : int, optional
        Samples per prediction step.
    repeats : int, optional
        Timed passes over ``images``.
    model : keras.Model, optional
        Model to run; by default a fresh binary :func:`build_model` (seed 0) for the size of
        ``images``.

    Returns
    -------
    images_per_second : float
        ``repeats * N / seconds``.
    probabilities : ndarray
        Of the last pass: shape (N,) for the binary model (probability of class 1), (N, K) for K
        classes; float32.

    Raises
    ------
    ValueError
        If the arguments are out of range.
    """
    if int(batch_size) < 1 or int(repeats) < 1:
        raise ValueError(f"batch_size and repeats: must be at least 1, got {batch_size} and {repeats}")
    batch_size, repeats = int(batch_size), int(repeats)
    x = _as_input(images)
    if model is None:
        model = build_model(1, image_size=x.shape[1])
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)
    if len(x) % batch_size:
        model.predict(x[: len(x) % batch_size], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    for _ in range(repeats):
        out = model.predict(x, batch_size=batch_size, verbose=0)
    rate = repeats * len(x) / (time.perf_counter() - start)
    out = np.asarray(out, dtype=np.float32)
    return rate, (out[:, 0] if out.shape[1] == 1 else out)


def fit_and_score(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """Train a fresh model for ``epochs`` epochs and score it on the test set.

    The number of classes follows from the labels (0/1: the binary model; otherwise the largest
    label plus one). Training is ``model.fit`` with shuffling (Keras's default), ``verbose=0``
    and no validation.

    Parameters
    ----------
    train_images, test_images : ndarray of shape (N, S, S, 3)
        uint8 cutouts (or floats already in [0, 1]).
    train_labels, test_labels : ndarray of shape (N,)
        Integer labels.
    epochs : int
        Training epochs.
    batch_size : int, optional
        Training batch size (prediction runs with batch 256).
    seed : int, optional
        Seed of the initialisation, dropout and shuffling.

    Returns
    -------
    dict
        ``auc``: ROC AUC on the test set (``sklearn.metrics.roc_auc_score``; one-versus-rest
        macro average for several classes; NaN if the test set holds one class only);
        ``accuracy``: fraction of test images classified correctly (probability above 0.5, or the
        arg-max); ``seconds``: wall time of ``model.fit``, including the one-off tracing of the
        first epoch, as a Keras user pays it; ``images_per_second``: ``epochs * len(train) /
        seconds``.

    Raises
    ------
    ValueError
        If the arguments are inconsistent.
    """
    from sklearn.metrics import roc_auc_score

    if int(epochs) < 1 or int(batch_size) < 1:
        raise ValueError(f"epochs and batch_size: must be at least 1, got {epochs} and {batch_size}")
    x_train, x_test = _as_input(train_images), _as_input(test_images)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"train and test images differ in shape: {x_train.shape[1:]} and {x_test.shape[1:]}")
    num_classes = _num_classes(train_labels, test_labels)
    y_train = _as_labels(train_labels, len(x_train), num_classes)
    y_test = _as_labels(test_labels, len(x_test), num_classes).astype(np.int64)
    model = build_model(num_classes, image_size=x_train.shape[1], seed=seed)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=int(batch_size), epochs=int(epochs), shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    probs = np.asarray(model.predict(x_test, batch_size=256, verbose=0), dtype=np.float64)
    if num_classes == 1:
        probs = probs[:, 0]
        predicted = (probs > 0.5).astype(np.int64)
    else:
        predicted = probs.argmax(axis=1)
    if len(np.unique(y_test)) < 2:
        auc = float("nan")
    elif num_classes == 1:
        auc = float(roc_auc_score(y_test, probs))
    else:
        auc = float(roc_auc_score(y_test, probs, multi_class="ovr", labels=np.arange(num_classes)))
    return {
        "auc": auc,
        "accuracy": float(np.mean(predicted == y_test)),
        "seconds": seconds,
        "images_per_second": int(epochs) * len(x_train) / seconds,
    }


def main() -> None:
    """Print the yardstick's training and prediction throughput on random images."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: TF's)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=2048)
    args = parser.parse_args()
    if not available():
        print("TensorFlow/Keras not available; install the 'bench' extra")
        return
    if args.threads is not None:
        set_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 64, 64, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, args.images).astype(np.int8)
    rate = train_throughput(images, labels, batch_size=args.batch_size, steps=args.steps)
    print(describe())
    print(f"train deepshadows-table1 (Keras fit, fp32, batch {args.batch_size}): {rate:.0f} images/s")
    model = build_model()
    for batch_size in (64, 256, 1024):
        rate, _ = predict_throughput(images, batch_size=batch_size, model=model)
        print(f"predict deepshadows-table1 (Keras predict, fp32, batch {batch_size}): {rate:.0f} images/s")


if __name__ == "__main__":
    main()
