"""``deepshadows transfer``: a model trained on one survey, before and after fine-tuning on another.

The output folder holds ``before/`` and ``after/`` (the evaluation of the target test sample as
``evaluate`` writes it: metrics with bootstrap intervals, ROC, confusion matrix),
``roc_before_after.png`` (Fig. 7c), the fine-tuned model (``model.safetensors`` and its
sidecar), ``finetune_history.csv``, ``transfer.json`` (sizes, rows, settings, both metric sets)
and, with a learning curve, ``learning_curve.png`` and ``learning_curve.csv``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import atomic_path, make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.data.store import open_store
from deepshadows.errors import InputError
from deepshadows.evaluation.figures import plot_roc
from deepshadows.evaluation.report import evaluate_predictions, load_roc
from deepshadows.models import load_model, save_model
from deepshadows.predict.batch import logits_to_probabilities, predict_logits
from deepshadows.transfer.curve import learning_curve, write_curve
from deepshadows.transfer.finetune import MODES, fine_tune

__all__ = ["choose_samples", "run_transfer"]

# Sidecar keys that save_model writes itself.
_WRITTEN_BY_SAVE = frozenset(
    {"format_version", "architecture", "model_kwargs", "weights_file", "weights_sha256"}
)


def choose_samples(
    labels: np.ndarray, n_finetune: int, n_test: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw disjoint fine-tuning and test samples, each balanced between the classes as far as possible.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        Label per row (-1: unlabelled, never drawn).
    n_finetune, n_test : int
        Sample sizes.
    seed : int
        Seed of the draw.

    Returns
    -------
    finetune, test : ndarray of int
        Row positions, sorted.

    Raises
    ------
    deepshadows.errors.InputError
        If there are not enough labelled rows.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels[labels >= 0])
    pools = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    total = sum(p.size for p in pools.values())
    if n_finetune + n_test > total:
        raise InputError(f"--n-finetune {n_finetune} + --n-test {n_test} exceed the {total} labelled objects")
    taken = {c: 0 for c in classes}

    def draw(n: int) -> np.ndarray:
        out = []
        for i, c in enumerate(classes):
            want = n // len(classes) + (1 if i < n % len(classes) else 0)
            got = pools[c][taken[c] : taken[c] + want]
            taken[c] += got.size
            out.append(got)
        rows = np.concatenate(out)
        short = n - rows.size
        if short:  # a class ran out: fill from the others
            rest = np.concatenate([pools[c][taken[c] :] for c in classes])
            extra = rng.permutation(rest)[:short]
            for c in classes:
                taken[c] += int(np.isin(pools[c], extra).sum())
            rows = np.concatenate([rows, extra])
        return np.sort(rows)

    test = draw(int(n_test))
    finetune = draw(int(n_finetune))
    return finetune, test


def _probabilities(model: torch.nn.Module, images: np.ndarray, device: torch.device) -> np.ndarray:
    return logits_to_probabilities(predict_logits(model, images, device=device))


def run_transfer(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    n_finetune: int = 320,
    n_test: int = 960,
    mode: str = "whole",
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 0.005,
    curve: Sequence[int] = (),
    seed: int = 0,
    n_boot: int = 1000,
    device: str = "cpu",
    precision: str = "auto",
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Evaluate a trained model on a new survey's test sample, fine-tune it, evaluate again.

    Parameters
    ----------
    model_path : path-like
        Run folder or weight file of the model trained on the first survey.
    store_path : path-like
        Labelled store of the new survey (its splits are ignored: the samples are drawn here).
    out_dir : path-like
        Output folder.
    n_finetune, n_test : int, optional
        Sizes of the fine-tuning and test samples (the paper: 320 and 960 of 1,280).
    mode : {"whole", "head"}, optional
        Fine-tune the whole network (the paper) or the dense layers only.
    epochs, batch_size, lr : optional
        Fine-tuning schedule (the paper: 30, 16, 0.005).
    curve : sequence of int, optional
        Fine-tuning sample sizes of a learning curve, run in both modes on the same test sample.
    seed : int, optional
        Seed of the samples, the fine-tuning and the bootstrap.
    n_boot : int, optional
        Bootstrap resamples.
    device, precision : str, optional
        Where and in which arithmetic to fine-tune.
    log : callable, optional
        Called with one line per step.

    Returns
    -------
    dict
        ``before`` and ``after`` (``metrics.json`` contents), ``curve`` (rows of the learning
        curve), ``out_dir``.
    """
    emit = log if log is not None else (lambda _line: None)
    if mode not in MODES:
        raise InputError(f"--mode: choose from {', '.join(MODES)}, got {mode!r}")
    for name, value in (("--n-finetune", n_finetune), ("--n-test", n_test), ("--epochs", epochs)):
        if int(value) < 1:
            raise InputError(f"{name}: must be at least 1, got {value}")
    dev = resolve_device(device)
    mixed = resolve_precision(precision, dev)
    out = make_output_dir(out_dir)
    model, meta = load_model(model_path, device=str(dev))
    if "ensemble" in meta:
        raise InputError(
            f"{model_path}: is an ensemble; transfer fine-tunes one network: "
            "give it a member's folder (members/<i>)"
        )
    with open_store(store_path) as store:
        labels = store.labels.astype(np.int64)
        sizes = [int(s) for s in curve]
        largest = max([int(n_finetune), *sizes])
        finetune_rows, test_rows = choose_samples(labels, largest, int(n_test), seed=seed)
        rng = np.random.default_rng([seed, 1])
        finetune_rows = rng.permutation(finetune_rows)  # nested subsets for the curve: first k rows
        test_images, test_labels = store.read_images(test_rows), labels[test_rows]
        tune_images, tune_labels = store.read_images(finetune_rows), labels[finetune_rows]
    names = [str(c) for c in (meta.get("class_names") or ["artifact", "lsbg"])][:2]
    common = {"n_boot": n_boot, "seed": seed, "class_names": names}

    emit(f"before fine-tuning: {len(test_rows)} test objects of {store_path}")
    before = evaluate_predictions(
        test_labels,
        _probabilities(model, test_images, dev),
        out / "before",
        name="before fine-tuning",
        **common,
    )
    emit(f"fine-tuning ({mode}) on {n_finetune} objects: {epochs} epochs, batch {batch_size}, lr {lr}")
    tuned, history = fine_tune(
        model,
        tune_images[: int(n_finetune)],
        tune_labels[: int(n_finetune)],
        mode=mode,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        precision=mixed,
        device=dev,
    )
    after = evaluate_predictions(
        test_labels,
        _probabilities(tuned, test_images, dev),
        out / "after",
        name="after fine-tuning",
        **common,
    )
    settings = {
        "source_model": str(model_path),
        "target_store": str(store_path),
        "n_finetune": int(n_finetune),
        "n_test": int(n_test),
        "mode": mode,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "seed": int(seed),
        "precision": mixed,
    }
    save_model(
        tuned,
        out / "model.safetensors",
        metadata={
            **{k: v for k, v in meta.items() if k not in _WRITTEN_BY_SAVE},
            "transfer": settings,
            "metrics": after.get("metrics"),
        },
    )
    with atomic_path(out / "finetune_history.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", "loss", "accuracy"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
    plot_roc(
        {
            "before fine-tuning": load_roc(out / "before" / "roc.npz"),
            "after fine-tuning": load_roc(out / "after" / "roc.npz"),
        },
        out / "roc_before_after.png",
        title="Transfer: ROC before and after fine-tuning",
    )
    rows = learning_curve(
        model, tune_images, tune_labels, test_images, test_labels, sizes, settings, dev, mixed, n_boot, emit
    )
    if rows:
        write_curve(rows, out)
    emit(
        f"accuracy {before['metrics']['accuracy']:.3f} -> {after['metrics']['accuracy']:.3f}, "
        f"AUC {before['metrics']['auc']:.3f} -> {after['metrics']['auc']:.3f}"
    )
    result = {"before": before, "after": after, "curve": rows, "out_dir": str(out), "settings": settings}
    write_json_atomic(out / "transfer.json", {**result, "provenance": provenance()})
    return result
