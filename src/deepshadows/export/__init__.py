"""Export trained classifiers to other formats (ONNX) for other inference backends."""

from __future__ import annotations

from deepshadows.export.onnx import export_onnx

__all__ = ["export_onnx"]
