"""Weight files: safetensors weights plus a JSON sidecar that says how to rebuild the model.

A saved model is two files side by side:

``<stem>.safetensors``
    The state dict (parameters and BatchNorm running statistics), in the safetensors format,
    which holds tensors only and is read without unpickling anything.
``<stem>.json``
    ``format_version``, ``architecture`` (registry name), ``model_kwargs``, ``weights_file``,
    ``weights_sha256`` and whatever the caller adds (training configuration, data fingerprint,
    versions, metrics, class names, decision threshold, preprocessing).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from deepshadows._docs import fill_doc
from deepshadows._io import atomic_path, check_format_version, read_json, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.models.registry import create_model, list_models

__all__ = [
    "FORMAT_VERSION",
    "WEIGHTS_NAME",
    "fingerprint_store",
    "load_network",
    "save_model",
    "sidecar_path",
]

#: Version of the sidecar layout written by :func:`save_model`.
FORMAT_VERSION = 1
#: File name of the weights inside a run folder.
WEIGHTS_NAME = "model.safetensors"
_RESERVED = frozenset({"format_version", "architecture", "model_kwargs", "weights_file", "weights_sha256"})


def sidecar_path(weights: str | os.PathLike[str]) -> Path:
    """Return the JSON sidecar that belongs to a weight file (same stem, ``.json``).

    Parameters
    ----------
    weights : path-like
        Weight file, e.g. ``run/model.safetensors``.

    Returns
    -------
    pathlib.Path
        The sidecar path, e.g. ``run/model.json``; it may not exist.
    """
    return Path(weights).with_suffix(".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any],
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a model's weights and its sidecar, each atomically.

    Parameters
    ----------
    model : torch.nn.Module
        A model built by :func:`deepshadows.models.create_model` (it must carry
        ``architecture`` and ``model_kwargs``).
    path : path-like
        Weight file ending in ``.safetensors``, or an existing folder (the weights are then
        written to ``model.safetensors`` inside it).
    metadata : mapping
        JSON-serialisable values stored in the sidecar beside the reserved keys
        ``format_version``, ``architecture``, ``model_kwargs``, ``weights_file`` and
        ``weights_sha256``.
    dtype : torch.dtype, optional
        Store the floating-point tensors in this type, e.g. ``torch.float16`` for a file half
        the size; :func:`load_model` converts them back to the model's float32. The sidecar
        records it as ``stored_dtype``. Default: as they are.

    Returns
    -------
    pathlib.Path
        The weight file; the sidecar is :func:`sidecar_path` of it.

    Raises
    ------
    ValueError
        If the model does not say how to rebuild it, or ``metadata`` uses a reserved key.
    deepshadows.errors.InputError
        If ``path`` does not end in ``.safetensors``.
    """
    architecture = getattr(model, "architecture", None)
    model_kwargs = getattr(model, "model_kwargs", None)
    if not isinstance(architecture, str) or not isinstance(model_kwargs, Mapping):
        raise ValueError("model has no 'architecture' and 'model_kwargs'; build it with create_model")
    clash = sorted(_RESERVED.intersection(metadata))
    if clash:
        raise ValueError(f"metadata keys {clash} are reserved")
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_NAME
    if path.suffix != ".safetensors":
        raise InputError(f"{path}: a weight file name must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage; copies on the CPU are always safe.
    tensors = {
        key: value.detach().to("cpu").contiguous().clone() for key, value in model.state_dict().items()
    }
    if dtype is not None:
        tensors = {key: t.to(dtype) if t.is_floating_point() else t for key, t in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={"architecture": architecture, "format": "deepshadows-model"})
        # safetensors creates its file readable by the owner only: make it readable by all,
        # as the other outputs are (a released or shared model is read by other accounts).
        tmp.chmod(0o644)
    sidecar = {
        **dict(metadata),
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "model_kwargs": dict(model_kwargs),
        "weights_file": path.name,
        "weights_sha256": _sha256(path),
    }
    if dtype is not None:
        sidecar["stored_dtype"] = str(dtype).removeprefix("torch.")
    write_json_atomic(sidecar_path(path), sidecar)
    return path


def _weights_file(path: Path) -> Path:
    if path.is_dir():
        inner = path / WEIGHTS_NAME
        if not inner.is_file():
            raise InputError(f"{path}: folder holds no {WEIGHTS_NAME} (is it a training run folder?)")
        return inner
    if not path.exists():
        raise InputError(f"{path}: model weights not found")
    return path


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        raise InputError(f"{sidecar}: model description not found beside the weights {path.name}")
    meta = read_json(sidecar, "model description")
    if not isinstance(meta, dict):
        raise InputError(f"{sidecar}: model description is not a JSON object")
    missing = sorted(key for key in ("format_version", "architecture", "model_kwargs") if key not in meta)
    if missing:
        raise InputError(f"{sidecar}: model description lacks {', '.join(missing)}")
    check_format_version(sidecar, meta["format_version"], FORMAT_VERSION, "model")
    if meta["architecture"] not in list_models():
        raise InputError(
            f"{sidecar}: unknown architecture {meta['architecture']!r}; known: {', '.join(list_models())}"
        )
    if not isinstance(meta["model_kwargs"], dict):
        raise InputError(f"{sidecar}: 'model_kwargs' must be a JSON object")
    return meta


def load_network(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild one saved network (a weight file or a run folder) in evaluation mode.

    :func:`deepshadows.models.load_model` calls it for everything that is not an ensemble or a
    released name; its documentation gives the checks and the errors.

    Parameters
    ----------
    path : path-like
        The ``.safetensors`` weight file or a run folder holding ``model.safetensors``.
    device : str or torch.device, optional
        Where to put the model.

    Returns
    -------
    tuple of (torch.nn.Module, dict)
        As :func:`deepshadows.models.load_model`.
    """
    weights = _weights_file(Path(path))
    meta = _read_sidecar(weights)
    expected = meta.get("weights_sha256")
    if expected is not None and _sha256(weights) != expected:
        raise InputError(
            f"{weights}: weights do not match the checksum in {sidecar_path(weights).name} "
            "(the file is corrupt or was replaced)"
        )
    try:
        state = load_file(weights, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{weights}: not a readable safetensors weight file ({exc})") from exc
    try:
        model = create_model(meta["architecture"], **meta["model_kwargs"])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{sidecar_path(weights)}: cannot build the model ({exc})") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(
            f"{weights}: weights do not fit architecture {meta['architecture']!r} "
            f"with {meta['model_kwargs']} ({' '.join(line.strip() for line in first[:3])})"
        ) from exc
    return model.to(device).eval(), meta


@fill_doc
def fingerprint_store(path: str | os.PathLike[str]) -> str:
    """Return a cheap fingerprint of a store's content, without reading its images.

    The SHA-256 covers the schema version, the number of rows, the ``config`` attribute, the
    split fractions and seed, and the ``label``, ``kind`` and ``split`` columns (a few bytes a
    row), so the same data set drawn or split differently gets a different fingerprint.

    Parameters
    ----------
    %(store_path)s

    Returns
    -------
    str
        Hexadecimal SHA-256.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is not a readable store.
    """
    from deepshadows.store.reader import open_store

    with open_store(path) as store:
        attrs = store.attrs
        head = {
            "schema_version": attrs.get("schema_version"),
            "n": len(store),
            "config": store.config,
            "split_fractions": attrs.get("split_fractions"),
            "split_seed": store.split_seed,
        }
        digest = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
        digest.update(np.ascontiguousarray(store.labels, dtype=np.int8).tobytes())
        for column in (store.kinds, store.splits):
            digest.update("\n".join(column.tolist()).encode())
    return digest.hexdigest()
