"""An ensemble loaded as one module, and the classifier prediction runs with it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.models.ensemble_combine import member_outputs
from deepshadows.models.ensemble_layout import combined_sha256, read_ensemble_description

__all__ = ["EnsembleClassifier", "EnsembleModule", "load_ensemble", "member_logits"]

# Description entries every member must share: the ensemble's inputs and outputs.
_SHARED = ("architecture", "model_kwargs", "class_names")


class EnsembleModule(nn.Module):
    """Members that classify together: ``forward`` returns the logit of their mean probability.

    Parameters
    ----------
    members : sequence of torch.nn.Module
        Classifiers with the same input and output shapes.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the members' logits stacked on axis 1: (B, M) or (B, M, K).

        Parameters
        ----------
        x : torch.Tensor
            Network input, as each member takes it.

        Returns
        -------
        torch.Tensor
            Logits of every member; a member's (B, 1) output is flattened to (B,) first.
        """
        outputs = []
        for member in self.members:
            out = member(x)
            outputs.append(out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out)
        return torch.stack(outputs, dim=1)

    def inference_module(self, input_scale: float = 1.0) -> EnsembleModule:
        """Return the ensemble of the members' inference forms, for export.

        Members with an ``inference_module`` (the Table-1 CNN) are rearranged as
        :mod:`deepshadows.export.onnx` does for one network; when any member lacks one, the
        members are kept and the input is multiplied by ``input_scale`` before them.

        Parameters
        ----------
        input_scale : float, optional
            Factor applied to the input (``1 / 255`` for uint8 cutouts).

        Returns
        -------
        EnsembleModule
            A module with the same outputs, for inputs scaled by ``1 / input_scale``.
        """
        rearrange = [getattr(member, "inference_module", None) for member in self.members]
        if all(callable(r) for r in rearrange):
            return EnsembleModule([r(input_scale=input_scale) for r in rearrange]).eval()
        return EnsembleModule([_Scaled(member, input_scale) for member in self.members]).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the ensemble's logits (see :mod:`deepshadows.models.ensemble_combine`).

        Parameters
        ----------
        x : torch.Tensor
            Network input.

        Returns
        -------
        torch.Tensor of shape (B,) or (B, K), float32
            Logits whose sigmoid (softmax) is the members' mean probability.
        """
        return member_outputs(self.member_logits(x))[0]


class _Scaled(nn.Module):
    """A member that multiplies its input by a constant first."""

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        self.model, self.scale = model, float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x * self.scale)


def member_logits(
    model: EnsembleModule,
    images_uint8: np.ndarray,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    precision: str = "fp32",
) -> np.ndarray:
    """Run every member on cutouts as served by the store; stack their logits on axis 1.

    Parameters
    ----------
    model : EnsembleModule
        The ensemble, on ``device``.
    images_uint8 : ndarray of shape (N, H, W, 3), uint8
        Cutouts.
    device : str or torch.device, optional
        Device of the model.
    batch_size : int, optional
        Cutouts per forward pass.
    precision : {"fp32", "bf16", "fp16", "auto"}, optional
        Arithmetic of the forward passes (:func:`deepshadows.predict.predict_logits`).

    Returns
    -------
    ndarray of shape (N, M) or (N, M, K), float32
        The members' logits.
    """
    from deepshadows.models.forward import predict_logits

    parts = [
        predict_logits(member, images_uint8, device=device, batch_size=batch_size, precision=precision)
        for member in model.members
    ]
    return np.stack(parts, axis=1)


def _shared_description(descriptions: Sequence[Mapping[str, Any]], folders: Sequence[Path]) -> None:
    first = descriptions[0]
    for meta, folder in zip(descriptions[1:], folders[1:], strict=True):
        for key in _SHARED:
            if meta.get(key) != first.get(key):
                raise InputError(
                    f"{folder}: member's {key} {meta.get(key)!r} differs from the first member's "
                    f"{first.get(key)!r}; the members of an ensemble must classify alike"
                )


def load_ensemble(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[EnsembleModule, dict[str, Any]]:
    """Load an ensemble folder as one module.

    Parameters
    ----------
    path : path-like
        The ensemble folder (holding ``ensemble.json``).
    device : str or torch.device, optional
        Where to put the members.

    Returns
    -------
    model : EnsembleModule
        The members, in evaluation mode.
    metadata : dict
        The first member's description (architecture, classes, threshold, ...) with
        ``weights_sha256`` replaced by the ensemble's checksum
        (:func:`~deepshadows.models.ensemble_layout.combined_sha256`) and an ``ensemble`` entry:
        ``members`` (count), ``seeds``, ``member_paths`` and ``member_weights_sha256``.

    Raises
    ------
    deepshadows.errors.InputError
        If ``ensemble.json`` is missing or corrupt, a member is missing, unfinished or cannot be
        loaded, its weights are not those the description records, or the members differ in
        architecture or classes; the message names the file or folder.
    """
    from deepshadows.models.io import load_network

    root = Path(path)
    description = read_ensemble_description(root)
    source = root / "ensemble.json"
    models, descriptions, folders = [], [], []
    for index, entry in enumerate(description["members"]):
        folder = root / entry["path"]
        if not (folder / "model.safetensors").is_file():
            raise InputError(f"{folder}: member {index} of {source} is missing (no model.safetensors)")
        if not entry.get("finished"):
            raise InputError(
                f"{folder}: member {index} of {source} has not finished training; "
                "continue it with `deepshadows train ... --resume`"
            )
        model, meta = load_network(folder, device=device)
        recorded = entry.get("weights_sha256")
        if recorded and meta.get("weights_sha256") != recorded:
            raise InputError(
                f"{folder}: member {index}'s weights are not those {source} records (trained again since?)"
            )
        models.append(model)
        descriptions.append(meta)
        folders.append(folder)
    _shared_description(descriptions, folders)
    checksums = [str(meta.get("weights_sha256", "")) for meta in descriptions]
    metadata = {
        **descriptions[0],
        "weights_sha256": combined_sha256(checksums),
        "ensemble": {
            "members": len(models),
            "seeds": [entry.get("seed") for entry in description["members"]],
            "member_paths": [entry["path"] for entry in description["members"]],
            "member_weights_sha256": checksums,
        },
    }
    return EnsembleModule(models).to(device).eval(), metadata


class EnsembleClassifier:
    """Prediction with an ensemble: the interface of a classifier, and the members' logits.

    Parameters
    ----------
    model : EnsembleModule
        The ensemble, on ``device``.
    device : str or torch.device, optional
        Device of the model.
    precision : {"fp32", "bf16", "fp16", "auto"}, optional
        Arithmetic of the members' forward passes.
    """

    def __init__(self, model: EnsembleModule, *, device: str | torch.device = "cpu", precision: str = "fp32"):
        self.model = model
        self.device = device
        self.precision = precision

    def member_logits(self, images_uint8: np.ndarray, batch_size: int) -> np.ndarray:
        """Return the members' logits of cutouts, stacked on axis 1 (see :func:`member_logits`).

        Parameters
        ----------
        images_uint8 : ndarray of shape (N, H, W, 3), uint8
            Cutouts.
        batch_size : int
            Cutouts per forward pass.

        Returns
        -------
        ndarray of shape (N, M) or (N, M, K), float32
            The members' logits.
        """
        return member_logits(
            self.model, images_uint8, device=self.device, batch_size=batch_size, precision=self.precision
        )

    def __call__(self, images_uint8: np.ndarray, batch_size: int) -> np.ndarray:
        """Return the ensemble's logits of cutouts (the logit of the members' mean probability).

        Parameters
        ----------
        images_uint8, batch_size
            As for :meth:`member_logits`.

        Returns
        -------
        ndarray of shape (N,) or (N, K), float32
            Logits.
        """
        from deepshadows.models.ensemble_combine import combine_member_logits

        return combine_member_logits(self.member_logits(images_uint8, batch_size))[0]
