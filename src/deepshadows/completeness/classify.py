"""The model side of a completeness run: probabilities of the LSBG class for cutouts.

The model is loaded as ``deepshadows predict`` loads it (:func:`deepshadows.predict.loading.load_classifier`:
a run folder, weight file, ensemble, ONNX file or released model), its probabilities are
calibrated by default when it has a calibration, and its decision threshold is its own unless
one is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepshadows.calibration import Calibration, find_calibration
from deepshadows.errors import InputError
from deepshadows.models.forward import FORWARD_BATCH, logits_to_probabilities
from deepshadows.predict.loading import load_classifier
from deepshadows.predict.model_settings import _image_size, _threshold
from deepshadows.released import resolve_model_path

__all__ = ["LSBGClassifier", "load_lsbg_classifier"]


@dataclass
class LSBGClassifier:
    """A loaded model that gives the probability of the LSBG class.

    Parameters
    ----------
    classify : callable
        ``classify(images_uint8, batch_size)`` returns logits (see
        :func:`deepshadows.predict.loading.load_classifier`).
    metadata : dict
        The model's description.
    calibration : Calibration or None
        Applied to the logits when set.
    column : int or None
        Column of the LSBG class for a model of several classes; None for a binary model.
    threshold : float
        Decision threshold on the LSBG probability.
    image_size : int
        Side of the cutouts the model takes.
    batch_size : int
        Cutouts per forward pass.
    """

    classify: Any
    metadata: dict[str, Any]
    calibration: Calibration | None
    column: int | None
    threshold: float
    image_size: int
    batch_size: int = FORWARD_BATCH

    @property
    def probabilities_kind(self) -> str:
        """``"calibrated (<method>)"`` or ``"uncalibrated"``."""
        if self.calibration is None:
            return "uncalibrated"
        return f"calibrated ({self.calibration.probability_map.describe()})"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Return the LSBG probability of each cutout.

        Parameters
        ----------
        images : ndarray of shape (N, H, W, 3), uint8
            Cutouts.

        Returns
        -------
        ndarray of shape (N,), float64
        """
        if not len(images):
            return np.empty(0)
        logits = self.classify(images, self.batch_size)
        convert = self.calibration.probabilities if self.calibration is not None else logits_to_probabilities
        prob = np.asarray(convert(logits), dtype=np.float64)
        return prob if self.column is None else prob[:, self.column]


def load_lsbg_classifier(
    model: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    calibrated: bool = True,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> LSBGClassifier:
    """Load a model for a completeness run.

    Parameters
    ----------
    model : path-like
        Run folder, weight file, ensemble folder, ONNX file or released model name.
    threshold : float, optional
        Decision threshold (default: the model's own, 0.5 when it has none).
    calibrated : bool, optional
        Use the calibrated probabilities of a model that has a calibration.
    device : str, optional
        Torch device.
    batch_size : int, optional
        Cutouts per forward pass.

    Returns
    -------
    LSBGClassifier

    Raises
    ------
    deepshadows.errors.InputError
        If the model cannot be read, the threshold lies outside [0, 1], or a model of several
        classes has no class called ``lsbg``.
    """
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"--threshold: must lie in [0, 1], got {threshold}")
    path = resolve_model_path(model)
    classify, metadata = load_classifier(path, device=device)
    calibration = find_calibration(path, metadata) if calibrated else None
    if calibration is not None and not calibration.changes_probabilities:
        calibration = None
    kwargs = metadata.get("model_kwargs") or {}
    n_classes = int(kwargs.get("num_classes") or metadata.get("num_classes") or 1)
    column = None
    if n_classes > 1:
        names = list(metadata.get("class_names") or [])
        if "lsbg" not in names:
            raise InputError(f"{model}: a model of {n_classes} classes needs a class named lsbg, has {names}")
        column = names.index("lsbg")
        value = 0.5 if threshold is None else float(threshold)
    else:
        value = float(_threshold(path, metadata, threshold, 1))  # type: ignore[arg-type]
    return LSBGClassifier(
        classify=classify,
        metadata=metadata,
        calibration=calibration,
        column=column,
        threshold=value,
        image_size=_image_size(metadata),
        batch_size=int(batch_size),
    )
