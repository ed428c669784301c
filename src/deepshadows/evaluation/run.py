"""Evaluate a trained model on a split of a store (``deepshadows evaluate``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.data.store import open_store
from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.predict.batch import FORWARD_BATCH

__all__ = ["evaluate_run", "predict_rows", "predict_split"]

_READ_ROWS = 2048


def predict_rows(
    model: Any,
    store_path: str | os.PathLike[str],
    rows: np.ndarray,
    *,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> np.ndarray:
    """Class probabilities of the given rows of a store, read in blocks.

    The cutouts are read 2048 rows at a time and classified with
    :func:`deepshadows.predict.batch.predict_logits`, so memory does not grow with ``rows``.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier already on ``device`` (as returned by :func:`deepshadows.models.load_model`).
    store_path : path-like
        Store (HDF5) holding the cutouts.
    rows : array-like of int
        Store rows to classify, in any order.
    device : str, optional
        Device the cutouts are moved to (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    ndarray of shape (n,) or (n, K)
        Probability of being an LSBG (binary models) or of each class, in the order of ``rows``.
    """
    from deepshadows.predict.batch import logits_to_probabilities, predict_logits

    rows = np.asarray(rows, dtype=np.int64)
    with open_store(store_path) as store:
        logits = [
            predict_logits(
                model,
                store.read_images(rows[start : start + _READ_ROWS]),
                device=device,
                batch_size=batch_size,
            )
            for start in range(0, len(rows), _READ_ROWS)
        ]
    return logits_to_probabilities(np.concatenate(logits))


def predict_split(
    model: Any,
    store_path: str | os.PathLike[str],
    *,
    split: str,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of every object of one split, read in blocks.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier already on ``device`` (as returned by :func:`deepshadows.models.load_model`).
    store_path : path-like
        Store (HDF5) holding the split.
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    device : str, optional
        Device the cutouts are moved to (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    indices : ndarray of shape (n,)
        Store rows of the split.
    prob : ndarray of shape (n,) or (n, K)
        Probability of being an LSBG (binary models) or of each class.
    """
    with open_store(store_path) as store:
        indices = store.indices(split)
    return indices, predict_rows(model, store_path, indices, device=device, batch_size=batch_size)


def evaluate_run(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> dict[str, Any]:
    """Score a trained model on a split: metrics with bootstrap intervals, ROC, confusion matrix.

    Parameters
    ----------
    model_path : path-like
        A run folder or its ``model.safetensors``.
    store_path : path-like
        Store holding the split.
    split : str, optional
        ``"test"`` (default), ``"val"`` or ``"train"``.
    out_dir : path-like, optional
        Output folder (default: ``evaluation_<split>`` in the run folder).
    n_boot : int, optional
        Bootstrap resamples for the 95 % intervals and the ROC band.
    seed : int, optional
        Seed of the resampling.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    dict
        What :func:`deepshadows.evaluation.evaluate_predictions` wrote to ``metrics.json``,
        plus ``out_dir``.
    """
    from deepshadows.models import load_model
    from deepshadows.training import store_targets

    model, meta = load_model(model_path, device=device)
    num_classes = int(meta.get("model_kwargs", {}).get("num_classes", 1))
    indices, prob = predict_split(model, store_path, split=split, device=device, batch_size=batch_size)
    with open_store(store_path) as store:
        y_true = store_targets(store, num_classes)[indices]
    run_dir = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
    out = Path(out_dir) if out_dir is not None else run_dir / f"evaluation_{split}"
    names = meta.get("class_names") or ["artifact", "lsbg"]
    if num_classes == 1:
        names = [names[0], names[1]]
    result = evaluate_predictions(
        y_true,
        prob,
        out,
        name=str(meta.get("architecture", "model")),
        n_boot=n_boot,
        seed=seed,
        threshold=float(meta.get("threshold") or 0.5),
        class_names=names,
        extra={"model": str(model_path), "store": str(store_path), "split": split},
    )
    return result | {"out_dir": str(out)}
