"""Half-precision copies of trained models: half the size, the same predictions to ~1e-3."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from deepshadows._io import check_writable
from deepshadows.errors import InputError

__all__ = ["export_half"]

_RESERVED = (
    "format_version",
    "architecture",
    "model_kwargs",
    "weights_file",
    "weights_sha256",
    "stored_dtype",
)


def export_half(
    model_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    extra: dict[str, Any] | None = None,
    portable: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a copy of a trained model with its weights stored in float16.

    The copy keeps the description of the original (configuration, data fingerprint, metrics,
    threshold, class names), with its calibration (:mod:`deepshadows.calibration`) in the
    ``calibration`` entry, and loads like any model: :func:`deepshadows.models.load_model`
    turns the weights back into float32. On the released DES model the test accuracy is
    unchanged and the largest probability change is 1.4e-3.

    Parameters
    ----------
    model_path : path-like
        Run folder, weight file, or ensemble folder (exported by
        :func:`deepshadows.ensemble.export.export_ensemble_half` to a folder).
    out : path-like
        Weight file to write (``.safetensors``; its ``.json`` sidecar goes beside it); for an
        ensemble, the folder to write.
    extra : dict, optional
        Entries added to the copy's sidecar.
    portable : bool, optional
        Replace the absolute paths recorded in the description (training store, source model
        of a fine-tuning) by their last component, for a model shared with others.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The written weight file (the written folder for an ensemble).
    """
    from deepshadows.ensemble.layout import is_ensemble
    from deepshadows.models import load_model, save_model

    if is_ensemble(model_path):
        from deepshadows.ensemble.export import export_ensemble_half

        return export_ensemble_half(model_path, out, portable=portable, overwrite=overwrite)
    out = Path(out)
    if out.suffix != ".safetensors":
        raise InputError(f"{out}: a weight file name must end in .safetensors")
    check_writable(out, overwrite=overwrite)
    from deepshadows.calibration import with_calibration
    from deepshadows.released import resolve_model_path

    model, meta = load_model(model_path)
    meta = with_calibration(resolve_model_path(model_path), meta)
    metadata = {k: v for k, v in meta.items() if k not in _RESERVED}
    metadata["exported_from"] = {"weights_sha256": meta.get("weights_sha256"), "stored_dtype": "float32"}
    metadata.update(extra or {})
    if portable:
        metadata = _without_local_paths(metadata)
    return save_model(model, out, metadata=metadata, dtype=torch.float16)


def _without_local_paths(value: Any, key: str = "") -> Any:
    """Return ``value`` with local paths replaced by their last component.

    These are every absolute path string, and every relative one stored under a key ending in
    ``path`` (such as the training store's ``data/des.h5``).
    """
    if isinstance(value, dict):
        return {k: _without_local_paths(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_local_paths(v, key) for v in value]
    if isinstance(value, str) and "\n" not in value:
        if os.path.isabs(value) or (key.endswith("path") and "/" in value):
            return Path(value).name
    return value
