"""Training: the loop, checkpoints that resume exactly, the run orchestration and its figure."""

from __future__ import annotations

from deepshadows.training.checkpoint import load_checkpoint, save_checkpoint
from deepshadows.training.fit import (
    BINARY_CLASS_NAMES,
    THREE_CLASS_NAMES,
    TrainConfig,
    class_names,
    fit,
    store_targets,
)
from deepshadows.training.loop import evaluate_loss, train_one_epoch
from deepshadows.training.plots import plot_history
from deepshadows.training.run_files import HISTORY_COLUMNS
from deepshadows.training.selection import RowSelection

__all__ = [
    "BINARY_CLASS_NAMES",
    "HISTORY_COLUMNS",
    "RowSelection",
    "THREE_CLASS_NAMES",
    "TrainConfig",
    "class_names",
    "evaluate_loss",
    "fit",
    "load_checkpoint",
    "plot_history",
    "save_checkpoint",
    "store_targets",
    "train_one_epoch",
]
