"""The end-of-training calibration: the kept weights calibrated on the validation split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows.errors import InputError
from deepshadows.training.batches import _EVAL_BATCH, RunData, run_batches
from deepshadows.training.config import TrainConfig

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []


def _calibrate(
    paths: Mapping[str, Path], data: RunData, cfg: TrainConfig, device: torch.device
) -> tuple[str, Any]:
    """Fit the calibration of the kept weights on the validation split; return a line and it.

    A validation split that cannot be calibrated (one class only) is reported, not raised:
    the trained weights stand without a calibration.
    """
    from deepshadows.calibration import calibration_path, fit_calibration, write_calibration
    from deepshadows.models import load_model
    from deepshadows.models.forward import predict_logits

    model, meta = load_model(paths["model"], device=device)
    logits, targets = [], []
    for images, y in run_batches(data, "val", batch_size=max(cfg.batch_size, _EVAL_BATCH)):
        logits.append(predict_logits(model, images, device=device, batch_size=_EVAL_BATCH))
        targets.append(np.asarray(y))
    try:
        calibration = fit_calibration(
            np.concatenate(logits),
            np.concatenate(targets).astype(np.int64),
            method=cfg.calibration,
            split="val",
            store={"path": data.path, "fingerprint": data.fingerprint},
            weights_sha256=meta.get("weights_sha256"),
        )
    except InputError as exc:
        paths["calibration"].unlink(missing_ok=True)
        return f"no calibration: {exc}", None
    write_calibration(calibration, calibration_path(paths["model"]))
    return calibration.describe(), calibration
