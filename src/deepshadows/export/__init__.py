"""Export trained classifiers: ONNX for other inference backends, half-precision safetensors."""

from __future__ import annotations

from deepshadows.export.compact import export_half
from deepshadows.export.onnx import export_onnx

__all__ = ["export_half", "export_onnx"]
