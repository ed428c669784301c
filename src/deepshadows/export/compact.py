"""Half-precision copies of trained models: half the size, the same predictions to ~1e-3."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from deepshadows._io import check_writable
from deepshadows.errors import InputError
from deepshadows.models.ensemble_layout import (
    combined_sha256,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)

__all__ = ["export_ensemble_half", "export_half"]

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
        :func:`export_ensemble_half` to a folder).
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
    from deepshadows.models import load_model, save_model
    from deepshadows.models.ensemble_layout import is_ensemble

    if is_ensemble(model_path):
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


def export_ensemble_half(
    ensemble: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    portable: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a copy of an ensemble with its members' weights stored in float16.

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder.
    out : path-like
        The folder to write (see the module notes for its layout); not a ``.safetensors`` name.
    portable : bool, optional
        Replace absolute paths in the descriptions by their last component.
    overwrite : bool, optional
        Replace the files of an existing copy.

    Returns
    -------
    pathlib.Path
        ``out``, the folder written.

    Raises
    ------
    deepshadows.errors.InputError
        If ``out`` names a weight file or holds files that ``overwrite`` does not allow to
        replace, or the ensemble cannot be loaded.
    """
    from deepshadows.calibration import calibration_path, find_calibration, write_calibration
    from deepshadows.models.ensemble import load_ensemble

    out = Path(out)
    if out.suffix == ".safetensors":
        raise InputError(f"{out}: an ensemble is exported to a folder; give --half a folder name")
    if (out / "ensemble.json").exists() and not overwrite:
        raise InputError(f"{out}: already exists; pass --overwrite to replace it")
    _, meta = load_ensemble(ensemble)  # checks every member before anything is written
    description = read_ensemble_description(ensemble)
    members = []
    for index, entry in enumerate(description["members"]):
        target = member_folder(out, index)
        target.mkdir(parents=True, exist_ok=True)
        written = export_half(
            Path(ensemble) / entry["path"],
            target / "model.safetensors",
            portable=portable,
            overwrite=overwrite,
        )
        sidecar = json.loads(written.with_suffix(".json").read_text(encoding="utf-8"))
        members.append({**entry, "path": f"members/{index}", "weights_sha256": sidecar["weights_sha256"]})
    checksum = combined_sha256([m["weights_sha256"] for m in members])
    calibration = find_calibration(ensemble, meta)
    if calibration is not None:
        write_calibration(replace(calibration, weights_sha256=checksum), calibration_path(out))
    else:
        calibration_path(out).unlink(missing_ok=True)
    kept = {k: v for k, v in description.items() if k not in ("format", "format_version", "members")}
    if portable:
        kept["store"] = {
            **kept.get("store", {}),
            "path": Path(str(kept.get("store", {}).get("path", ""))).name,
        }
    exported_from = {"weights_sha256": meta["weights_sha256"], "stored_dtype": "float32"}
    write_ensemble_description(out, kept | {"members": members, "exported_from": exported_from})
    return out
