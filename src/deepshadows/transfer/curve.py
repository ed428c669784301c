"""The learning curve of ``deepshadows transfer``: test metrics against the fine-tuning sample size.

Every size is fine-tuned in both modes (:data:`~deepshadows.transfer.finetune.MODES`) on the
first rows of the same shuffled fine-tuning sample and scored on the same test sample, with
bootstrap intervals; ``learning_curve.csv`` and ``learning_curve.png`` hold the result.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows._io import atomic_path, save_png
from deepshadows.finetuning import Recipe
from deepshadows.metrics.bootstrap import bootstrap_metrics
from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.transfer.finetune import MODES, fine_tune

__all__ = ["learning_curve", "write_curve"]


def learning_curve(
    model: torch.nn.Module,
    tune_images: np.ndarray,
    tune_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    sizes: Sequence[int],
    settings: dict[str, Any],
    device: torch.device,
    precision: str,
    n_boot: int,
    emit: Callable[[str], object],
) -> list[dict[str, Any]]:
    """Fine-tune ``model`` on the first ``size`` rows for every size, in both modes, and score each.

    Parameters
    ----------
    model : torch.nn.Module
        The source model (left unchanged).
    tune_images : ndarray of shape (N, H, W, 3), uint8
        The shuffled fine-tuning sample, at least as large as the largest size.
    tune_labels : ndarray of shape (N,)
        Its labels.
    test_images : ndarray of shape (M, H, W, 3), uint8
        The test sample.
    test_labels : ndarray of shape (M,)
        Its labels.
    sizes : sequence of int
        Fine-tuning sample sizes (an empty sequence gives no rows).
    settings : dict
        ``epochs``, ``batch_size``, ``lr``, ``seed`` and ``recipe`` (a mapping, optional: the
        paper's when absent) of the fine-tuning.
    device : torch.device
        Device of the model.
    precision : str
        Resolved arithmetic of the fine-tuning.
    n_boot : int
        Bootstrap resamples of the intervals.
    emit : callable
        Called with one line per point.

    Returns
    -------
    list of dict
        One row per size and mode: ``n_finetune``, ``mode``, and ``accuracy`` and ``auc`` with
        their ``_low`` and ``_high`` bounds.
    """
    rows = []
    for size in sizes:
        for mode in MODES:
            tuned, _ = fine_tune(
                model,
                tune_images[:size],
                tune_labels[:size],
                mode=mode,
                recipe=Recipe.from_dict(settings["recipe"]) if "recipe" in settings else None,
                epochs=settings["epochs"],
                batch_size=settings["batch_size"],
                lr=settings["lr"],
                seed=settings["seed"],
                precision=precision,
                device=device,
            )
            intervals = bootstrap_metrics(
                test_labels,
                logits_to_probabilities(predict_logits(tuned, test_images, device=device)),
                n_boot=n_boot,
                seed=settings["seed"],
            )
            row = {"n_finetune": size, "mode": mode}
            for metric in ("accuracy", "auc"):
                iv = intervals[metric]
                row |= {metric: iv.value, f"{metric}_low": iv.low, f"{metric}_high": iv.high}
            rows.append(row)
            emit(
                f"learning curve: {size} objects, {mode}: "
                f"accuracy {row['accuracy']:.3f}, AUC {row['auc']:.3f}"
            )
    return rows


def write_curve(rows: list[dict[str, Any]], out: Path) -> None:
    """Write ``learning_curve.csv`` and ``learning_curve.png`` into ``out``.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`learning_curve` (not empty).
    out : pathlib.Path
        The transfer's output folder.
    """
    from matplotlib.figure import Figure

    with atomic_path(out / "learning_curve.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    for k, metric in enumerate(("accuracy", "auc")):
        ax = fig.add_subplot(1, 2, k + 1)
        for mode, style in zip(MODES, ("-o", "--s"), strict=True):
            part = [r for r in rows if r["mode"] == mode]
            n = np.array([r["n_finetune"] for r in part])
            value = np.array([r[metric] for r in part])
            err = np.array(
                [
                    [r[metric] - r[f"{metric}_low"] for r in part],
                    [r[f"{metric}_high"] - r[metric] for r in part],
                ]
            )
            label = "whole network" if mode == "whole" else "dense layers only"
            ax.errorbar(n, value, yerr=err, fmt=style, capsize=3, label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("objects in the fine-tuning sample")
        ax.set_ylabel(metric if metric == "accuracy" else "AUC")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Fine-tuning on the new survey: test metrics (95 % bootstrap intervals)")
    save_png(fig, out / "learning_curve.png")
