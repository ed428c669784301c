"""The files of a training run folder: their names and paths, the configuration and the history."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import torch

from deepshadows._io import atomic_path, write_json_atomic
from deepshadows._provenance import package_versions, provenance
from deepshadows.models.ensemble_layout import MEMBERS_FOLDER
from deepshadows.training.batches import RunData
from deepshadows.training.config import TrainConfig, class_names

__all__ = ["HISTORY_COLUMNS", "RUN_FILES", "remove_extra_members"]

#: Columns of ``history.csv``.
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
    "train_total_loss",
    "train_alignment",
    "train_unlabelled_loss",
    "train_confident_fraction",
)
#: Files that make a folder a training run.
RUN_FILES: tuple[str, ...] = (
    "last.pt",
    "model.safetensors",
    "model.json",
    "history.csv",
    "config.json",
    "training_history.png",
    "calibration.json",
)


def _run_paths(out: Path) -> dict[str, Path]:
    return {
        "run": out,
        "model": out / "model.safetensors",
        "model_json": out / "model.json",
        "checkpoint": out / "last.pt",
        "history": out / "history.csv",
        "plot": out / "training_history.png",
        "config": out / "config.json",
        "calibration": out / "calibration.json",
    }


def _model_metadata(cfg: TrainConfig, data: RunData, precision: str) -> dict[str, Any]:
    """Sidecar entries of the saved weights, besides the metrics of the kept epoch."""
    return {
        "config": cfg.to_dict(),
        "trained_precision": precision,
        "store": {"path": data.path, "fingerprint": data.fingerprint},
        "selection": None if data.selection is None else data.selection.description,
        "versions": package_versions(),
        "class_names": list(class_names(cfg.num_classes)),
        "threshold": 0.5 if cfg.num_classes == 1 else None,
        "preprocessing": {
            "input_shape": [int(s) for s in data.shape],
            "source_dtype": "uint8",
            "scale": 1 / 255,
            "layout": "NCHW, channels in the store's order",
        },
    }


def _write_config(
    path: Path, cfg: TrainConfig, data: RunData, model: torch.nn.Module, resumed: int | None, precision: str
) -> None:
    write_json_atomic(
        path,
        {
            "train": cfg.to_dict(),
            "precision": precision,
            "store": {
                "path": data.path,
                "fingerprint": data.fingerprint,
                "n_train": int(data.splits["train"].size),
                "n_val": int(data.splits["val"].size),
            },
            "selection": None if data.selection is None else data.selection.description,
            "model": {"architecture": model.architecture, "model_kwargs": model.model_kwargs},
            "class_names": list(class_names(cfg.num_classes)),
            "resumed_from_epoch": resumed,
            "provenance": provenance(),
        },
    )


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})


def remove_extra_members(ensemble: str | os.PathLike[str], members: int) -> None:
    """Remove the run files of members beyond a new count (an ensemble replaced by a smaller one).

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder.
    members : int
        Members of the new ensemble: the files of ``members/<i>`` with ``i >= members`` go.
    """
    folder = Path(ensemble) / MEMBERS_FOLDER
    if not folder.is_dir():
        return
    for sub in folder.iterdir():
        if sub.is_dir() and sub.name.isdigit() and int(sub.name) >= members:
            for name in (*RUN_FILES, "finetune_history.csv"):
                (sub / name).unlink(missing_ok=True)
