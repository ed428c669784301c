"""Loading any model: a weight file, a run folder, an ensemble folder or a released name."""

from __future__ import annotations

import os

import torch
from torch import nn

from deepshadows.models.ensemble import load_ensemble
from deepshadows.models.ensemble_layout import is_ensemble
from deepshadows.models.io import load_network
from deepshadows.released import resolve_model_path

__all__ = ["load_model"]


def load_model(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a saved model in evaluation mode.

    Parameters
    ----------
    path : path-like
        The ``.safetensors`` weight file, a run folder holding ``model.safetensors``, an
        ensemble folder (loaded by :func:`deepshadows.ensemble.load_ensemble` as one module
        whose logits are those of the members' mean probability), or the name of a model
        released with the package (``"des"``, ``"hsc"``; see :mod:`deepshadows.released`).
    device : str or torch.device, optional
        Where to put the model.

    Returns
    -------
    model : torch.nn.Module
        The model with the saved weights, in ``eval()`` mode.
    metadata : dict
        The sidecar's contents.

    Raises
    ------
    deepshadows.errors.InputError
        If the weights or the sidecar are missing, unreadable or corrupt, the sidecar names an
        unknown architecture, or the weights do not fit the architecture; the message names the
        file.
    """
    resolved = resolve_model_path(path)
    if is_ensemble(resolved):
        return load_ensemble(resolved, device=device)
    return load_network(resolved, device=device)
