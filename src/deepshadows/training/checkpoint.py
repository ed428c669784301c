"""The training checkpoint ``last.pt``: everything needed to continue a run exactly.

The checkpoint is a plain dictionary of tensors, numbers, strings, lists and dictionaries, so
it loads with ``torch.load(..., weights_only=True)``, which never runs pickled code:

``format_version``, ``format``
    Layout version (1) and ``"deepshadows-checkpoint"``.
``epoch``
    Number of completed epochs.
``model``, ``optimizer``, ``scaler``
    State dicts (``scaler`` is None without mixed precision).
``history``
    One dictionary of metrics per completed epoch.
``best_epoch``, ``best_val_loss``
    The epoch with the lowest validation loss so far and that loss.
``rng``
    Random-number states of torch (CPU and CUDA), numpy's global generator and Python's
    ``random``, converted to plain types.
``config``, ``store_fingerprint``, ``version``
    The training configuration, the fingerprint of the data store and the package version.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows import __version__
from deepshadows._io import atomic_path, check_format_version
from deepshadows.errors import InputError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "get_rng_state",
    "load_checkpoint",
    "save_checkpoint",
    "set_rng_state",
]

CHECKPOINT_FORMAT = "deepshadows-checkpoint"
CHECKPOINT_VERSION = 1


def get_rng_state() -> dict[str, Any]:
    """Return the global random-number states of torch, numpy and Python as plain types.

    Returns
    -------
    dict
        ``torch`` (uint8 tensor), ``cuda`` (list of uint8 tensors, empty without CUDA),
        ``numpy`` (dict with the MT19937 key as a list of ints) and ``python`` (list).
    """
    np_state = np.random.get_state(legacy=False)
    py_version, py_internal, py_gauss = random.getstate()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(cuda),
        "numpy": {
            "bit_generator": str(np_state["bit_generator"]),
            "key": [int(k) for k in np_state["state"]["key"]],
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": [int(py_version), [int(v) for v in py_internal], py_gauss],
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the states returned by :func:`get_rng_state`.

    Parameters
    ----------
    state : mapping
        Output of :func:`get_rng_state`.
    """
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": np_state["bit_generator"],
            "state": {"key": np.asarray(np_state["key"], dtype=np.uint32), "pos": np_state["pos"]},
            "has_gauss": np_state["has_gauss"],
            "gauss": np_state["gauss"],
        }
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write a checkpoint atomically, adding the format tags and the package version.

    Parameters
    ----------
    path : path-like
        Output file, normally ``<run>/last.pt``.
    state : mapping
        The entries listed in the module docstring except ``format``, ``format_version`` and
        ``version``; every value must be a tensor, number, string, None, or a list or dict of
        those.

    Returns
    -------
    pathlib.Path
        The checkpoint file.
    """
    path = Path(path)
    payload = {
        **state,
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` without unpickling code.

    Parameters
    ----------
    path : path-like
        Checkpoint file.
    map_location : str or torch.device, optional
        Where tensors are loaded.

    Returns
    -------
    dict
        The checkpoint.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, unreadable, corrupt or not a checkpoint of a supported version.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise InputError(f"{path}: cannot read the checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: not a deepshadows training checkpoint")
    check_format_version(path, state.get("format_version"), CHECKPOINT_VERSION, "checkpoint")
    return state
