"""Where a model's calibration lives: a file beside its weights, or its exported description.

A run folder's calibration is ``calibration.json`` beside ``model.safetensors``; any other
weight file ``<stem>.safetensors`` has ``<stem>.calibration.json``. The file records the
checksum of the weights it was fitted for, so a calibration left over from weights that were
trained again is refused rather than applied. ``deepshadows export`` copies the calibration
into the exported model's description (``calibration`` in its ``.json`` sidecar or in an ONNX
file's metadata), so the exported files carry it alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepshadows._io import read_json, write_json_atomic
from deepshadows.calibration.record import Calibration
from deepshadows.calibration.serialization import calibration_from_dict, calibration_to_dict
from deepshadows.errors import InputError
from deepshadows.models.io import WEIGHTS_NAME as _RUN_WEIGHTS

__all__ = [
    "CALIBRATION_NAME",
    "calibration_path",
    "find_calibration",
    "read_calibration",
    "with_calibration",
    "write_calibration",
]

#: File name of a run folder's calibration.
CALIBRATION_NAME = "calibration.json"


def _weights(model_path: str | os.PathLike[str]) -> Path:
    path = Path(model_path)
    return path / _RUN_WEIGHTS if path.is_dir() else path


def calibration_path(model_path: str | os.PathLike[str]) -> Path:
    """Return the calibration file of a run folder or weight file (it may not exist).

    Parameters
    ----------
    model_path : path-like
        A run folder, its ``model.safetensors`` or another ``.safetensors`` weight file.

    Returns
    -------
    pathlib.Path
        ``<folder>/calibration.json`` for a run's ``model.safetensors``, else
        ``<stem>.calibration.json`` beside the weight file.
    """
    weights = _weights(model_path)
    if weights.name == _RUN_WEIGHTS:
        return weights.with_name(CALIBRATION_NAME)
    return weights.with_name(f"{weights.stem}.{CALIBRATION_NAME}")


def write_calibration(calibration: Calibration, path: str | os.PathLike[str]) -> Path:
    """Write a calibration as JSON, atomically.

    Parameters
    ----------
    calibration : Calibration
        The calibration.
    path : path-like
        The file (see :func:`calibration_path`); its folder must exist.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    write_json_atomic(path, calibration_to_dict(calibration))
    return Path(path)


def read_calibration(path: str | os.PathLike[str]) -> Calibration:
    """Read a calibration file.

    Parameters
    ----------
    path : path-like
        A file written by :func:`write_calibration`.

    Returns
    -------
    Calibration
        The calibration the file holds, every field checked
        (:func:`~deepshadows.calibration.calibration_from_dict`).

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not JSON or not a valid calibration; the message names it.
    """
    path = Path(path)
    return calibration_from_dict(read_json(path, "calibration"), source=str(path))


def find_calibration(model_path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Calibration | None:
    """Return the calibration of a model, or None when it has none.

    The calibration file beside the weights (:func:`calibration_path`) is used first, then the
    ``calibration`` entry of the model's description (exported and released models).

    Parameters
    ----------
    model_path : path-like
        The model's run folder, weight file or ONNX file (a released model's resolved path).
    metadata : mapping
        The model's description (its sidecar, or an ONNX file's embedded metadata).

    Returns
    -------
    Calibration or None
        The calibration.

    Raises
    ------
    deepshadows.errors.InputError
        If the calibration is unreadable or invalid, or the file was fitted for other weights
        than the model's (the run was trained again since).
    """
    weights = _weights(model_path)
    if weights.suffix == ".safetensors":
        path = calibration_path(weights)
        if path.is_file():
            calibration = read_calibration(path)
            fitted, current = calibration.weights_sha256, metadata.get("weights_sha256")
            if fitted and current and fitted != current:
                model = weights.parent if weights.name == _RUN_WEIGHTS else weights
                raise InputError(
                    f"{path}: was fitted for other weights than {weights.name} (trained again since); "
                    f"run `deepshadows calibrate {model} --data STORE` again, or pass --uncalibrated"
                )
            return calibration
    embedded = metadata.get("calibration")
    if embedded is None:
        return None
    return calibration_from_dict(embedded, source=f"{weights} (model description, 'calibration')")


def with_calibration(model_path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return a model's description with its calibration in the ``calibration`` entry.

    Used when a model is exported, so that the exported description carries the calibration
    that lay in a file beside the weights.

    Parameters
    ----------
    model_path : path-like
        The model's run folder or weight file.
    metadata : mapping
        The model's description.

    Returns
    -------
    dict
        A copy of ``metadata``, with ``calibration`` set when the model has one.

    Raises
    ------
    deepshadows.errors.InputError
        As :func:`find_calibration`.
    """
    out = dict(metadata)
    calibration = find_calibration(model_path, metadata)
    if calibration is not None:
        out["calibration"] = calibration_to_dict(calibration)
    return out
