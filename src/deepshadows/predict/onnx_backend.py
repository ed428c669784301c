"""ONNX Runtime inference on models exported by :func:`deepshadows.export.export_onnx`.

The exported graph takes the cutouts exactly as the store serves them (uint8, channels last)
and does the scaling and transposition itself, so :meth:`OnnxClassifier.logits` takes the same
arrays as :func:`deepshadows.predict.predict_logits`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from deepshadows._io import check_at_least_one
from deepshadows.errors import InputError
from deepshadows.models.forward import FORWARD_BATCH

__all__ = ["METADATA_KEY", "OnnxClassifier", "import_onnx_module"]

#: Key of the ``metadata_props`` entry that holds the model description (a JSON object).
METADATA_KEY = "deepshadows"
_INSTALL_HINT = "pip install 'deepshadows[onnx]'"


def import_onnx_module(name: str) -> ModuleType:
    """Import an optional ONNX package (``onnx`` or ``onnxruntime``).

    Parameters
    ----------
    name : str
        Module name.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    deepshadows.errors.InputError
        If the package is not installed; the message says how to install it.
    """
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise InputError(f"{name} is not installed; ONNX support needs: {_INSTALL_HINT}") from exc


class OnnxClassifier:
    """A classifier exported to ONNX, run by ONNX Runtime on the CPU.

    Parameters
    ----------
    path : path-like
        ONNX file written by :func:`deepshadows.export.export_onnx`.
    threads : int, optional
        Intra-operator threads; by default as many as torch uses (``torch.get_num_threads()``).
        Operators run one after the other (one inter-operator thread, sequential execution).

    Attributes
    ----------
    path : pathlib.Path
        The ONNX file.
    metadata : dict
        The model description embedded at export: the sidecar of the weights (architecture,
        model arguments, class names, decision threshold, ...).

    Raises
    ------
    deepshadows.errors.InputError
        If the file does not exist, is not an ONNX model that ONNX Runtime can load, was not
        exported by deepshadows, ``threads`` is not positive, or onnxruntime is not installed;
        the message names the file.
    """

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: ONNX model not found")
        if threads is not None:
            check_at_least_one(threads, "--threads")
        ort = import_onnx_module("onnxruntime")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = int(threads) if threads is not None else torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(
                str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        # ONNX Runtime's errors (InvalidProtobuf, InvalidGraph, Fail, ...) share no base class
        # below Exception.
        except Exception as exc:
            raise InputError(f"{self.path}: not an ONNX model that ONNX Runtime can load ({exc})") from exc
        self.metadata = _read_metadata(self.path, self._session)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if (
            len(inputs) != 1
            or len(outputs) != 1
            or inputs[0].type != "tensor(uint8)"
            or len(inputs[0].shape) != 4
        ):
            raise InputError(
                f"{self.path}: expected one uint8 input of shape (N, H, W, C) and one output, "
                "as export_onnx writes"
            )
        self._input = inputs[0].name
        # (batch, H, W, C); fixed sides are ints, the dynamic batch axis a name.
        self._shape = tuple(inputs[0].shape)

    @property
    def input_shape(self) -> tuple[int | str, ...]:
        """Shape of one input cutout, (H, W, C); an axis the graph leaves free is a name."""
        return self._shape[1:]

    def __repr__(self) -> str:
        return f"OnnxClassifier({str(self.path)!r})"

    def logits(self, images_uint8: np.ndarray, *, batch_size: int = FORWARD_BATCH) -> np.ndarray:
        """Return the logits of cutouts as served by the store.

        Parameters
        ----------
        images_uint8 : ndarray of shape (N, H, W, 3), uint8
            Cutouts, channels last; H and W as the model was exported with.
        batch_size : int, optional
            Cutouts per run of the graph.

        Returns
        -------
        ndarray of shape (N,) or (N, K), float32
            Logits, as :func:`deepshadows.predict.predict_logits` returns them.

        Raises
        ------
        deepshadows.errors.InputError
            If ``batch_size`` is not positive.
        ValueError
            If ``images_uint8`` is not a four-dimensional uint8 array of the model's image shape.
        """
        check_at_least_one(batch_size, "--batch-size")
        batch_size = int(batch_size)
        images = np.asarray(images_uint8)
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 images of shape (N, H, W, C), got {images.dtype} {images.shape}"
            )
        expected = self.input_shape
        pairs = zip(images.shape[1:], expected, strict=True)
        if any(isinstance(want, int) and got != want for got, want in pairs):
            raise ValueError(
                f"{self.path.name}: expected images of shape (N, {', '.join(map(str, expected))}), "
                f"got {images.shape}"
            )
        parts = [
            self._session.run(None, {self._input: np.ascontiguousarray(images[lo : lo + batch_size])})[0]
            for lo in range(0, images.shape[0], batch_size)
        ]
        if not parts:
            return np.empty((0,), dtype=np.float32)
        logits = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if logits.ndim == 2 and logits.shape[1] == 1:
            logits = logits[:, 0]
        return logits.astype(np.float32, copy=False)


def _read_metadata(path: Path, session: Any) -> dict[str, Any]:
    """Return the embedded model description of an ONNX Runtime session."""
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if raw is None:
        raise InputError(
            f"{path}: no '{METADATA_KEY}' metadata; not a model exported by deepshadows "
            "(write one with export_onnx)"
        )
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: '{METADATA_KEY}' metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise InputError(f"{path}: '{METADATA_KEY}' metadata is not a JSON object")
    return meta
