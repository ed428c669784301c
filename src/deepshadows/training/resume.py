"""Starting a run in its folder or resuming it from ``last.pt``: the checks and the state restored."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepshadows.errors import InputError
from deepshadows.training.checkpoint import load_checkpoint, set_rng_state
from deepshadows.training.config import TrainConfig, comparable_config
from deepshadows.training.run_files import RUN_FILES

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

# Configuration fields that may change when a run is resumed: they do not change the result
# of the epochs already trained.
_RESUMABLE = frozenset({"epochs", "patience", "device", "num_workers", "calibration"})


def _check_resumable(state: Mapping[str, Any], cfg: TrainConfig, fingerprint: str, path: Path) -> None:
    hint = "pass --overwrite to start a new run in this folder"
    old, new = comparable_config(state.get("config") or {}), cfg.to_dict()
    differ = sorted(k for k in old.keys() | new.keys() if k not in _RESUMABLE and old.get(k) != new.get(k))
    if differ:
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise InputError(
            f"{path}: cannot resume, the run was started with a different configuration ({detail}); {hint}"
        )
    if state.get("store_fingerprint") != fingerprint:
        raise InputError(f"{path}: cannot resume, the run was trained on a different data store; {hint}")


def _prepare_run(
    out: Path, cfg: TrainConfig, fingerprint: str, *, resume: bool, overwrite: bool
) -> dict[str, Any] | None:
    """Check the run folder and return the checkpoint to resume from, if any."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    present = [name for name in RUN_FILES if (out / name).exists()]
    checkpoint = out / "last.pt"
    if resume:
        if checkpoint.exists():
            state = load_checkpoint(checkpoint)
            _check_resumable(state, cfg, fingerprint, checkpoint)
            return state
        if present:
            raise InputError(
                f"{out}: no last.pt to resume from ({', '.join(present)} present); "
                "pass --overwrite to start a new run in this folder"
            )
    elif present:
        if not overwrite:
            raise InputError(
                f"{out}: folder already holds a training run ({', '.join(present)}); "
                "pass --resume to continue it or --overwrite to replace it"
            )
        for name in present:
            (out / name).unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the run folder ({exc.strerror})") from exc
    if not os.access(out, os.W_OK):
        raise InputError(f"{out}: run folder is not writable")
    return None


@dataclass
class _Run:
    """Mutable state of a run: what ``last.pt`` saves besides the model and optimizer."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf

    @property
    def epoch(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    def record(self, row: dict[str, Any]) -> bool:
        """Append an epoch's row and return whether it is the new best."""
        self.history.append(row)
        # The first epoch is always kept, so a run whose validation loss is NaN still has weights,
        # and a finite loss replaces a NaN one.
        best = self.best_val_loss
        if self.best_epoch == 0 or row["val_loss"] < best or math.isnan(best):
            self.best_epoch, self.best_val_loss = int(row["epoch"]), float(row["val_loss"])
            return True
        return False

    def patience_spent(self, patience: int | None) -> bool:
        return patience is not None and self.epoch > 0 and self.epoch - self.best_epoch >= patience


def _restore(
    state: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> _Run:
    model.load_state_dict(state["model"])
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise InputError(
            f"cannot resume: the checkpoint's optimizer state does not fit this version's optimizer "
            f"({exc}); pass --overwrite to start a new run"
        ) from exc
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return _Run(
        [dict(row) for row in state["history"]], int(state["best_epoch"]), float(state["best_val_loss"])
    )
