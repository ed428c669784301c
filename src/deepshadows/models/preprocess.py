"""Cutouts as stored (uint8, channels last) to network input, on any device."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["as_network_input"]


def as_network_input(x: Any, device: torch.device) -> torch.Tensor:
    """Return a batch as channels-last float32 input on ``device``.

    Parameters
    ----------
    x : array-like or torch.Tensor
        Cutouts as stored, uint8 of shape (B, H, W, C), scaled here by 1/255 (the same values
        as :func:`deepshadows.data.to_float`); or float input of shape (B, C, H, W).
    device : torch.device
        Target device.

    Returns
    -------
    torch.Tensor of shape (B, C, H, W), float32, channels-last memory
    """
    x = torch.as_tensor(x)
    if x.dtype == torch.uint8:
        # (B, H, W, C) permuted to (B, C, H, W) is a channels-last view: no copy until the cast.
        return x.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
    x = x.to(device, dtype=torch.float32, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x
