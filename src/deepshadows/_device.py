"""Resolve the device and the arithmetic precision given by the user, once."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import torch

from deepshadows.errors import InputError

__all__ = ["PRECISIONS", "autocast", "cpu_supports_bf16", "resolve_device", "resolve_precision"]

#: Precisions a user may ask for.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

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


def cpu_supports_bf16() -> bool:
    """Return whether this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX) for oneDNN.

    Returns
    -------
    bool
        True when oneDNN reports native bfloat16 support; false when it does not, when the
        check is missing from this PyTorch build or when it fails.
    """
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def resolve_precision(name: str, device: torch.device) -> str:
    """Return the arithmetic precision to train or predict with.

    Parameters
    ----------
    name : {"auto", "fp32", "bf16", "fp16"}
        ``"auto"``: float16 mixed precision on CUDA; bfloat16 mixed precision on CPUs with
        native bfloat16 arithmetic; float32 otherwise.
    device : torch.device
        Device the model runs on.

    Returns
    -------
    {"fp32", "bf16", "fp16"}

    Raises
    ------
    deepshadows.errors.InputError
        If the name is unknown, or float16 is asked for on the CPU.
    """
    text = str(name).strip().lower()
    if text not in PRECISIONS:
        raise InputError(f"--precision: unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if text == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if device.type == "cpu" and cpu_supports_bf16() else "fp32"
    if text == "fp16" and device.type != "cuda":
        raise InputError("--precision: fp16 mixed precision needs a CUDA device; use bf16 or fp32 on the CPU")
    return text


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """Return the mixed-precision context of a resolved ``precision`` on ``device``.

    Under ``"bf16"`` and ``"fp16"`` convolutions and matrix products run in the lower precision
    while weights, their updates and reductions such as batch statistics stay float32
    (PyTorch's autocast policy); ``"fp32"`` changes nothing.

    Parameters
    ----------
    device : torch.device
        Device the model runs on; its type (``"cpu"`` or ``"cuda"``) selects the autocast backend.
    precision : {"fp32", "bf16", "fp16"}
        Precision as returned by :func:`resolve_precision` (not ``"auto"``).

    Returns
    -------
    contextlib.AbstractContextManager
        A :func:`torch.autocast` context, or a :func:`contextlib.nullcontext` for ``"fp32"``.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
