"""Networks: the DeepShadows CNN of Table 1, a compact ResNet, the model registry and weight files."""

from __future__ import annotations

from deepshadows.models.compact_resnet import CompactResNet
from deepshadows.models.io import FORMAT_VERSION, fingerprint_store, save_model, sidecar_path
from deepshadows.models.loading import load_model
from deepshadows.models.registry import create_model, list_models, model_class, register_model
from deepshadows.models.table1 import DeepShadowsCNN

__all__ = [
    "FORMAT_VERSION",
    "CompactResNet",
    "DeepShadowsCNN",
    "create_model",
    "fingerprint_store",
    "list_models",
    "load_model",
    "model_class",
    "register_model",
    "save_model",
    "sidecar_path",
]
