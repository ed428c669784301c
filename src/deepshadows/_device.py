"""Resolve a device name given by the user into a :class:`torch.device`, once."""

from __future__ import annotations

import re

import torch

from deepshadows.errors import InputError

__all__ = ["resolve_device"]

_CUDA = re.compile(r"cuda(?::(\d+))?")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Return the device to compute on.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, optional
        ``"auto"`` picks the first CUDA device when one is available and the CPU otherwise.

    Returns
    -------
    torch.device
        The device.

    Raises
    ------
    deepshadows.errors.InputError
        If the name is not understood, or a CUDA device is requested but not available.
    """
    if isinstance(name, torch.device):
        name = str(name)
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = _CUDA.fullmatch(text)
    if match is None:
        raise InputError(f"--device: unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise InputError(f"--device: {name!r} requested but CUDA is not available; use --device cpu")
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise InputError(f"--device: {name!r} requested but only {count} CUDA device(s) are visible")
    return torch.device("cuda", index)
