"""Load a trained classifier for prediction, whatever its format.

PyTorch weights, a run or ensemble folder, a released model's name, or an ONNX export.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._device import resolve_device
from deepshadows.errors import InputError
from deepshadows.models.forward import predict_logits
from deepshadows.released import resolve_model_path

__all__ = ["Classifier", "load_classifier", "model_for_input"]

#: ``classify(images_uint8, batch_size)`` -> logits.
Classifier = Callable[[np.ndarray, int], np.ndarray]


def _load_model(model_path: str | os.PathLike[str], device: str) -> tuple[Any, dict[str, Any]]:
    """Load a PyTorch model and its metadata (imported here so this module loads without it)."""
    if not Path(model_path).exists():
        raise InputError(f"{model_path}: model file not found")
    from deepshadows.models import load_model

    return load_model(model_path, device=device)


def load_classifier(
    model_path: str | os.PathLike[str], *, device: str = "cpu", precision: str = "fp32"
) -> tuple[Classifier, dict[str, Any]]:
    """Load a trained model for prediction, whatever its format.

    Parameters
    ----------
    model_path : path-like
        Weights written by training (``.safetensors``, a run folder or an ensemble folder) or
        the name of a released model (``"des"``, ``"hsc"``), run by PyTorch; or an ONNX file written by
        ``deepshadows export --onnx``, run by ONNX Runtime on the CPU.
    device : str, optional
        Torch device of a PyTorch model.
    precision : {"fp32", "bf16", "fp16", "auto"}, optional
        Arithmetic of a PyTorch model (ONNX models run in float32).

    Returns
    -------
    classify : callable
        ``classify(images_uint8, batch_size)`` returns the logits of cutouts (N, H, W, C). For an
        ensemble it is an :class:`~deepshadows.ensemble.EnsembleClassifier`: the logits of the
        members' mean probability, and ``classify.member_logits`` gives each member's.
    metadata : dict
        The model's description (sidecar or embedded ONNX metadata).

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, or an ONNX model is asked to run off the CPU.
    """
    path = resolve_model_path(model_path)
    if path.suffix == ".onnx":
        from deepshadows.predict.onnx_backend import OnnxClassifier

        if resolve_device(device).type != "cpu":
            raise InputError(f"{model_path}: ONNX models run on the CPU; use --device cpu")
        if precision not in ("fp32", "auto"):
            raise InputError(f"--precision: ONNX models run in fp32, got {precision!r}")
        onnx_model = OnnxClassifier(path)
        return (lambda images, batch: onnx_model.logits(images, batch_size=batch)), onnx_model.metadata
    model, metadata = _load_model(path, device)
    if "ensemble" in metadata:
        from deepshadows.models.ensemble import EnsembleClassifier

        return EnsembleClassifier(model, device=device, precision=precision), metadata
    return (
        lambda images, batch: predict_logits(
            model, images, device=device, batch_size=batch, precision=precision
        )
    ), metadata


def model_for_input(input_path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Return the released model for an input: the one made for a store's survey, else the default.

    Parameters
    ----------
    input_path : path-like
        What is to be classified: a store (``.h5``), a folder or an image.

    Returns
    -------
    model : str
        The released model's name (:func:`deepshadows.released.model_for_survey` of the store's
        recorded survey; :data:`deepshadows.released.DEFAULT_MODEL` for anything else, including
        a store that cannot be read, which prediction then reports).
    survey : str or None
        The store's survey, when it records one.
    """
    from deepshadows.released import DEFAULT_MODEL, model_for_survey

    path = Path(input_path)
    if path.suffix.lower() not in (".h5", ".hdf5") or not path.is_file():
        return DEFAULT_MODEL, None
    from deepshadows.store.reader import Store

    try:
        survey = Store(path).config.get("survey")
    except Exception:  # an unreadable store is reported by predict itself
        return DEFAULT_MODEL, None
    name = survey.get("name") if isinstance(survey, dict) else survey
    return model_for_survey(survey), (str(name) if name else None)
