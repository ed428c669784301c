"""The prediction kernel: uint8 cutouts in, logits and probabilities out, no file access."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import expit, softmax

from deepshadows._device import autocast, resolve_precision
from deepshadows._io import check_at_least_one
from deepshadows.models.preprocess import as_network_input

__all__ = ["FORWARD_BATCH", "logits_to_probabilities", "predict_logits"]

# Forward passes are padded to a multiple of this many cutouts (see predict_logits).
_PAD_ROWS = 8
#: Cutouts per forward pass by default. On CPUs small batches keep the activations in the
#: caches: the Table-1 model runs 2.3x faster in float32 at 32-64 than at 512 on 2 cores
#: (``python benchmarks/bench_predict.py --batch-sizes 16,32,64,128,512``).
FORWARD_BATCH = 64


def predict_logits(
    model: torch.nn.Module,
    images_uint8: np.ndarray,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = FORWARD_BATCH,
    precision: str = "fp32",
) -> np.ndarray:
    """Run a classifier on cutouts as served by the store.

    The model is put in evaluation mode and channels-last memory and run under
    :func:`torch.inference_mode`, on ``batch_size`` cutouts at a time; each batch is moved to
    the device as uint8 and converted there (:func:`deepshadows.models.preprocess.as_network_input`,
    the values of :func:`deepshadows.data.to_float`), so at most one batch of float input
    exists at a time.
    Each forward pass is padded to a multiple of 8 cutouts by repeating its last cutout: CPU
    matrix and convolution kernels treat the leftover rows of a batch with other code, which
    changes logits in their last bits (about 1e-7), so without padding a cutout's logit would
    depend on its place in the batch. With it, results do not depend on ``batch_size`` in
    practice (this is what backends do, not something they guarantee).

    Parameters
    ----------
    model : torch.nn.Module
        Classifier already on ``device``; ``forward`` takes float32 (B, 3, H, W) in [0, 1] and
        returns logits of shape (B,) for a binary model or (B, K) for K classes. An output of
        shape (B, 1) is flattened to (B,).
    images_uint8 : ndarray of shape (N, H, W, 3), uint8
        Cutouts, channels last.
    device : str or torch.device, optional
        Device the input is moved to.
    batch_size : int, optional
        Cutouts per forward pass.
    precision : {"fp32", "bf16", "fp16", "auto"}, optional
        Arithmetic of the forward pass (see :func:`deepshadows._device.resolve_precision`);
        float32 by default, whose logits do not depend on the machine beyond rounding.

    Returns
    -------
    ndarray of shape (N,) or (N, K), float32
        Logits.

    Raises
    ------
    deepshadows.errors.InputError
        If ``batch_size`` is not positive.
    ValueError
        If ``images_uint8`` is not a four-dimensional uint8 array, or the model returns logits
        of another shape.
    """
    check_at_least_one(batch_size, "--batch-size")
    batch_size = int(batch_size)
    images = np.asarray(images_uint8)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W, C), got {images.dtype} {images.shape}")
    # Channels-last memory lets oneDNN pick its fastest convolutions (1.6x on a 2-core AVX-512
    # CPU for the Table-1 model); the arithmetic stays float32.
    model.eval().to(memory_format=torch.channels_last)
    target = torch.device(device)
    mode = resolve_precision(precision, target)
    parts: list[np.ndarray] = []
    with torch.inference_mode(), autocast(target, mode):
        for lo in range(0, images.shape[0], batch_size):
            x = as_network_input(images[lo : lo + batch_size], target)
            n = x.shape[0]
            padded = -(-n // _PAD_ROWS) * _PAD_ROWS
            if padded > n:
                x = torch.cat([x, x[-1:].expand(padded - n, -1, -1, -1)])
            logits = _as_logits(model(x), padded)[:n]
            parts.append(logits.detach().to("cpu", torch.float32).numpy())
    if not parts:
        return np.empty((0,), dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _as_logits(output: Any, n: int) -> torch.Tensor:
    """Check the shape of a model output and flatten a (n, 1) output to (n,)."""
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"the model returned {type(output).__name__}, expected a tensor of logits")
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.ndim not in (1, 2) or output.shape[0] != n:
        raise ValueError(
            f"the model returned logits of shape {tuple(output.shape)} for {n} cutouts; "
            f"expected ({n},) or ({n}, K)"
        )
    return output


def logits_to_probabilities(logits: np.ndarray | torch.Tensor) -> np.ndarray:
    """Turn logits into probabilities.

    Parameters
    ----------
    logits : array-like of shape (N,) or (N, K)
        Binary logits (probability of the positive class by the logistic sigmoid) or K-class
        logits (probabilities by the softmax over the last axis).

    Returns
    -------
    ndarray of the same shape, float64
        Probabilities; each row sums to one for K classes.

    Raises
    ------
    ValueError
        If ``logits`` is neither one- nor two-dimensional.
    """
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().cpu().numpy()
    arr = np.asarray(logits, dtype=np.float64)
    if arr.ndim == 1:
        return expit(arr)
    if arr.ndim == 2:
        return softmax(arr, axis=1)
    raise ValueError(f"logits must have shape (N,) or (N, K), got {arr.shape}")
