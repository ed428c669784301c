"""What prediction reads from a model's description: cutout size, classes, columns, threshold.

Also the notes said when the probabilities written are not calibrated although they were
asked to be, and the check that a model's logits have the shape its description promises.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from deepshadows.calibration import Calibration
from deepshadows.errors import InputError
from deepshadows.prediction_schema import prediction_header

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

#: Side in pixels of the cutouts a model takes when its metadata does not say.
IMAGE_SIZE = 64


def _model_setting(metadata: Mapping[str, Any], key: str) -> Any:
    """Return a setting from the metadata, or from its ``model_kwargs``, or None."""
    if metadata.get(key) is not None:
        return metadata[key]
    kwargs = metadata.get("model_kwargs")
    return kwargs.get(key) if isinstance(kwargs, Mapping) else None


def _image_size(metadata: Mapping[str, Any]) -> int:
    """Return the side of the cutouts the model takes (64 unless its metadata says otherwise)."""
    size = _model_setting(metadata, "image_size")
    return IMAGE_SIZE if size is None else int(size)


def _columns(
    model_path: str | os.PathLike[str], metadata: Mapping[str, Any], *, calibrated: bool = False
) -> tuple[int, list[str]]:
    """Return the number of classes (1 for a binary model) and the CSV header.

    With ``calibrated`` the header also has the model's own probabilities (see
    :func:`deepshadows.prediction_schema.prediction_header`).
    """
    num_classes = _model_setting(metadata, "num_classes")
    k = 1 if num_classes is None else int(num_classes)
    if k == 1:
        return 1, prediction_header(None, calibrated=calibrated)
    names: Sequence[Any] = metadata.get("class_names") or [str(i) for i in range(k)]
    if len(names) != k:
        raise InputError(f"{model_path}: the model has {k} classes but {len(names)} class names")
    return k, prediction_header(names, calibrated=calibrated)


def _threshold(
    model_path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    threshold: float | None,
    n_classes: int,
) -> float | None:
    if n_classes > 1:
        if threshold is not None:
            raise InputError(
                f"--threshold applies to binary models only; {model_path} has {n_classes} classes"
            )
        return None
    value = float(metadata.get("threshold", 0.5) if threshold is None else threshold)
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{model_path}: the model's threshold {value} lies outside [0, 1]")
    return value


def _check_logits(logits: np.ndarray, n: int, n_classes: int, model_path: str | os.PathLike[str]) -> None:
    expected = (n,) if n_classes == 1 else (n, n_classes)
    if logits.shape != expected:
        raise InputError(
            f"{model_path}: the model returned logits of shape {logits.shape} for {n} cutouts, "
            f"expected {expected} from its metadata ({n_classes if n_classes > 1 else 'binary'} classes)"
        )


def _calibration_notes(
    model_path: str | os.PathLike[str], calibration: Calibration | None, calibrated: bool
) -> list[str]:
    """Say when the probabilities written are not calibrated although they were asked to be."""
    if not calibrated:
        return []
    if calibration is None:
        return [
            f"note: {model_path} has no calibration, its probabilities are uncalibrated "
            "(fit one with `deepshadows calibrate MODEL --data STORE`)"
        ]
    if not calibration.changes_probabilities:
        return [f"note: {model_path} was calibrated with method none, its probabilities are uncalibrated"]
    return []
