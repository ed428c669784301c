"""Grad-CAM (Selvaraju et al. 2017) for any classifier that names its ``gradcam_layer``.

The class score is the logit of the class (for a binary model: the logit for LSBGs, its
negative for artifacts). Its gradients with respect to the feature maps ``A_k`` of the hooked
layer are averaged over each map, giving weights ``α_k``; the map is ``ReLU(Σ_k α_k A_k)``,
upsampled bilinearly to the input size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepshadows.errors import InputError
from deepshadows.models.preprocess import as_network_input

__all__ = ["class_scores", "ensemble_gradcam", "gradcam"]


def _layer(model: nn.Module, layer: nn.Module | None) -> nn.Module:
    if layer is not None:
        return layer
    found = getattr(model, "gradcam_layer", None)
    if not isinstance(found, nn.Module):
        raise InputError(
            f"{type(model).__name__} has no 'gradcam_layer'; pass the layer to explain (layer=...)"
        )
    return found


def class_scores(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the score of each row's target class: its logit (binary: ±the single logit).

    Parameters
    ----------
    logits : torch.Tensor of shape (N,) or (N, K)
        Model output.
    target : torch.Tensor of shape (N,), int64
        Class per row (binary: 1 LSBG, 0 artifact).

    Returns
    -------
    torch.Tensor of shape (N,)
    """
    if logits.ndim == 1:
        return torch.where(target == 1, logits, -logits)
    return logits.gather(1, target.view(-1, 1)).squeeze(1)


def gradcam(
    model: nn.Module,
    images: Any,
    *,
    target: int | np.ndarray | None = None,
    layer: nn.Module | None = None,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    upsample: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return Grad-CAM maps and the predicted classes of cutouts.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier returning logits, on ``device``; it is put in evaluation mode.
    images : array-like
        Cutouts as stored, uint8 (N, H, W, C), or network input, float (N, C, H, W) in [0, 1].
    target : int, array of shape (N,), or None, optional
        Class to explain per cutout; None explains the predicted class.
    layer : torch.nn.Module, optional
        Layer whose output feature maps are weighted; by default ``model.gradcam_layer``.
    batch_size : int, optional
        Cutouts per forward and backward pass.
    device : str or torch.device, optional
        Device of the model.
    upsample : bool, optional
        Upsample the maps bilinearly to the input size (otherwise they keep the layer's size).

    Returns
    -------
    maps : ndarray of shape (N, H, W) (or the layer's size), float32
        Non-negative Grad-CAM maps, not normalised.
    targets : ndarray of shape (N,), int64
        The explained class of each cutout.

    Raises
    ------
    deepshadows.errors.InputError
        If the model has no ``gradcam_layer`` and none is given, or ``target`` has the wrong
        length.
    """
    dev = torch.device(device)
    hooked = _layer(model, layer)
    model.eval()
    inputs = as_network_input(images, dev)
    n = inputs.shape[0]
    wanted = None if target is None else np.broadcast_to(np.asarray(target, dtype=np.int64), (n,))
    if wanted is not None and wanted.shape != (n,):
        raise InputError(f"target: expected one class per cutout ({n}), got {np.shape(target)}")
    captured: list[torch.Tensor] = []
    handle = hooked.register_forward_hook(lambda _m, _i, out: captured.append(out))
    maps, classes = [], []
    try:
        for lo in range(0, n, int(batch_size)):
            x = inputs[lo : lo + int(batch_size)].detach().requires_grad_(True)
            captured.clear()
            with torch.enable_grad():
                logits = model(x)
                if logits.ndim == 2 and logits.shape[1] == 1:
                    logits = logits[:, 0]
                if wanted is None:
                    chosen = (logits > 0).long() if logits.ndim == 1 else logits.argmax(dim=1)
                else:
                    chosen = torch.from_numpy(wanted[lo : lo + x.shape[0]].copy()).to(logits.device)
                feature_maps = captured[-1]
                (grads,) = torch.autograd.grad(class_scores(logits, chosen).sum(), feature_maps)
            weights = grads.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((weights * feature_maps).sum(dim=1, keepdim=True)).detach()
            if upsample:
                cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
            maps.append(cam[:, 0].float().cpu().numpy())
            classes.append(chosen.cpu().numpy())
    finally:
        handle.remove()
    if not maps:
        return np.empty((0, *inputs.shape[-2:]), dtype=np.float32), np.empty(0, dtype=np.int64)
    return np.concatenate(maps), np.concatenate(classes).astype(np.int64)


def ensemble_gradcam(
    model: nn.Module,
    images: Any,
    *,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    upsample: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return Grad-CAM maps of a classifier, averaged over the members of an ensemble.

    Every member explains the class the ensemble predicts (its mean probability), and the
    members' maps are averaged. A model without ``members`` is explained by :func:`gradcam`.

    Parameters
    ----------
    model : torch.nn.Module
        An :class:`~deepshadows.ensemble.EnsembleModule` or any classifier :func:`gradcam`
        takes, on ``device``.
    images : array-like
        Cutouts as stored, uint8 (N, H, W, C), or network input, float (N, C, H, W) in [0, 1].
    batch_size : int, optional
        Cutouts per forward and backward pass.
    device : str or torch.device, optional
        Device of the model.
    upsample : bool, optional
        Upsample the maps to the input size.

    Returns
    -------
    maps : ndarray of shape (N, H, W), float32
        The members' mean Grad-CAM map.
    targets : ndarray of shape (N,), int64
        The explained class (the ensemble's prediction).
    """
    members = getattr(model, "members", None)
    if members is None:
        return gradcam(model, images, batch_size=batch_size, device=device, upsample=upsample)
    dev = torch.device(device)
    with torch.inference_mode():
        logits = model.eval()(as_network_input(images, dev))
    target = (logits > 0).long() if logits.ndim == 1 else logits.argmax(dim=1)
    chosen = target.cpu().numpy().astype(np.int64)
    maps = [
        gradcam(member, images, target=chosen, batch_size=batch_size, device=device, upsample=upsample)[0]
        for member in members
    ]
    return np.mean(maps, axis=0).astype(np.float32), chosen
