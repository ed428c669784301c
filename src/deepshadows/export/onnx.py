"""Export a saved classifier to ONNX, for ONNX Runtime and other backends.

The exported graph takes the cutouts exactly as the store keeps them: input ``images``, uint8
of shape (N, H, W, 3) with a dynamic batch axis N. The conversion to float32, the division by
255 and the transposition to channels first (:func:`deepshadows.data.to_float`) are part of the
graph, so every backend is fed the same uint8 arrays. Models that offer an
``inference_module`` (the Table-1 CNN: batch normalisation moved after the pooling and folded
into the dense layer, the division folded into the first convolution) are exported in that
form; the export check holds the logits to within 1e-4 of the model's own. The output
``logits`` is float32 of shape (N,) for a binary model and (N, K) for K classes, as
:func:`deepshadows.predict.predict_logits` returns it.

The model description (the JSON sidecar of the weights: architecture, model arguments, class
names, decision threshold, ...) is embedded as the ``metadata_props`` entry ``deepshadows``, a
JSON string, so the ONNX file is self-contained; a calibration stored beside the weights
(:mod:`deepshadows.calibration`) goes into its ``calibration`` entry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepshadows import __version__
from deepshadows._io import atomic_path, check_writable
from deepshadows.calibration import with_calibration
from deepshadows.errors import InputError
from deepshadows.models.forward import predict_logits
from deepshadows.models.io import WEIGHTS_NAME
from deepshadows.models.loading import load_model
from deepshadows.predict.onnx_backend import METADATA_KEY, OnnxClassifier, import_onnx_module
from deepshadows.released import resolve_model_path

__all__ = ["CHECK_ATOL", "INPUT_NAME", "OUTPUT_NAME", "export_onnx"]

#: Name of the graph input (uint8, N x H x W x 3).
INPUT_NAME = "images"
#: Name of the graph output (float32 logits, N or N x K).
OUTPUT_NAME = "logits"
#: Largest absolute difference between ONNX Runtime and torch logits accepted by the check.
CHECK_ATOL = 1e-4
_CHECK_ROWS = 16
_CHECK_SEED = 20210101


class _Uint8Input(nn.Module):
    """Wrap a classifier so that it takes uint8 cutouts, channels last, as stored.

    A model with ``inference_module(input_scale=...)`` (the Table-1 CNN) is exported in that
    rearranged form, with the division by 255 folded into its first convolution; any other
    model gets the division of :func:`deepshadows.data.to_float` in the graph.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        rearrange = getattr(model, "inference_module", None)
        self.model = rearrange(input_scale=1 / 255) if callable(rearrange) else model
        self.divide = not callable(rearrange)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32)
        logits = self.model(x / 255.0 if self.divide else x)
        return logits[:, 0] if logits.ndim == 2 and logits.shape[1] == 1 else logits


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's known, harmless complaints, and nothing else."""
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    # The exporter logs one warning per torchvision operator it cannot register when
    # torchvision is not installed; this model uses none of them.
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # torch 2.13's export internals call a pytree API they themselves deprecated
            # ("isinstance(treespec, LeafSpec) is deprecated"); nothing the caller can change.
            warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning)
            yield
    finally:
        registration.setLevel(level)


def _input_shape(model: nn.Module, metadata: dict[str, Any]) -> tuple[int, int, int]:
    """Return (H, W, C) of the model's input."""
    kwargs = metadata.get("model_kwargs", {})
    side = int(getattr(model, "image_size", kwargs.get("image_size", 64)))
    chans = int(getattr(model, "in_chans", kwargs.get("in_chans", 3)))
    return side, side, chans


def _to_onnx(model: nn.Module, shape: tuple[int, int, int], opset: int | None) -> Any:
    """Export the wrapped model with the torch.export-based exporter; return the ModelProto."""
    wrapper = _Uint8Input(model).eval()
    # A batch of 2: torch.export specialises sizes 0 and 1, which would pin the batch axis.
    example = torch.zeros((2, *shape), dtype=torch.uint8)
    with _quiet_exporter():
        program = torch.onnx.export(
            wrapper,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamo=True,
            dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
            optimize=True,  # constant folding and redundancy elimination (onnxscript optimiser)
            verbose=False,
        )
    # The ModelProto keeps the weights inline (17 MB for Table 1, far below the 2 GB limit);
    # passing a file name to torch.onnx.export would write them to a separate ``.data`` file.
    return program.model_proto


def _check(model: nn.Module, weights: Path, onnx_file: Path, out: Path) -> None:
    """Compare ONNX Runtime and torch logits on a fixed random batch; raise RuntimeError if apart."""
    classifier = OnnxClassifier(onnx_file)
    shape = (_CHECK_ROWS, *classifier.input_shape)
    images = np.random.default_rng(_CHECK_SEED).integers(0, 256, shape, dtype=np.uint8)
    got = classifier.logits(images)
    want = predict_logits(model, images)
    if got.shape != want.shape:
        raise RuntimeError(
            f"{out}: ONNX Runtime returns logits of shape {got.shape}, torch ({weights}) {want.shape}; "
            "the export is wrong and was not written"
        )
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    if not diff <= CHECK_ATOL:
        raise RuntimeError(
            f"{out}: ONNX Runtime logits differ from the torch logits of {weights} by up to {diff:.3g} "
            f"(more than {CHECK_ATOL:g}); the export is wrong and was not written"
        )


def export_onnx(
    model_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    opset: int | None = None,
    check: bool = True,
) -> Path:
    """Export a saved classifier to an ONNX file that takes uint8 cutouts.

    The model is exported in evaluation mode with the ``torch.export``-based exporter
    (``torch.onnx.export(..., dynamo=True)``), optimised (constant folding), and written
    atomically with its weights inline.

    Parameters
    ----------
    model_path : path-like
        The ``.safetensors`` weight file (its JSON sidecar beside it), or a run folder holding
        ``model.safetensors``, as :func:`deepshadows.models.load_model` accepts.
    out : path-like
        ONNX file to write.
    overwrite : bool, optional
        Replace ``out`` if it exists.
    opset : int, optional
        ONNX opset of the default domain; by default the exporter's recommended one (18 or
        later are exported natively, older ones through the ONNX version converter).
    check : bool, optional
        Run the written file in ONNX Runtime on a fixed random batch of 16 cutouts and compare
        its logits with torch's (:func:`deepshadows.predict.predict_logits`).

    Returns
    -------
    pathlib.Path
        ``out``, the ONNX file written.

    Raises
    ------
    deepshadows.errors.InputError
        If ``out`` exists and ``overwrite`` is false, the model cannot be loaded, ``opset`` is
        not a positive integer or the exporter cannot write it, or onnx, onnxscript (or, with
        ``check``, onnxruntime) is not installed.
    RuntimeError
        If the check finds a logit that differs by more than 1e-4; ``out`` is then not written
        (an existing file is left as it was).
    """
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 1):
        raise InputError(f"--opset must be a positive integer, got {opset!r}")
    out = check_writable(out, overwrite=overwrite)
    onnx = import_onnx_module("onnx")
    import_onnx_module("onnxscript")  # needed by the exporter
    if check:
        import_onnx_module("onnxruntime")
    model, metadata = load_model(model_path)
    metadata = with_calibration(resolve_model_path(model_path), metadata)
    model.eval()
    proto = _to_onnx(model, _input_shape(model, metadata), opset)
    written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and written != opset:
        # Below 18 the exporter converts down and, where that fails, keeps its own opset.
        raise InputError(f"--opset {opset}: the exporter could not convert the model (it wrote {written})")
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(metadata, sort_keys=True, default=str)})
    proto.producer_name = "deepshadows"
    proto.producer_version = __version__
    proto.doc_string = (
        f"deepshadows {metadata.get('architecture', 'classifier')}: input '{INPUT_NAME}' uint8 (N, H, W, 3) "
        f"cutouts as stored; output '{OUTPUT_NAME}' float32 logits. Model description in "
        f"metadata_props['{METADATA_KEY}']."
    )
    weights = Path(model_path)
    weights = weights / WEIGHTS_NAME if weights.is_dir() else weights
    with atomic_path(out) as tmp:
        onnx.save_model(proto, tmp)
        if check:
            _check(model, weights, tmp, out)
    return out
