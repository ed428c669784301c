"""One pass over the training batches and one over the validation batches; no I/O, no printing.

Both functions take an iterable of ``(x, y)`` pairs: ``x`` the cutouts as stored, uint8 of
shape (B, H, W, C), or network input, float of shape (B, C, H, W) in [0, 1] (array or tensor);
``y`` integer targets of shape (B,) (0/1 for a model with one output, class indices otherwise).
Stored cutouts are moved to the device as uint8 and converted there; either way the network
sees channels-last float32 tensors, the memory layout oneDNN and cuDNN run fastest. The
forward pass runs in the ``precision`` given: ``"fp32"``, or mixed precision with ``"bf16"``
(CPUs with native bfloat16 arithmetic, or CUDA) or ``"fp16"`` (CUDA, with a gradient scaler);
see :func:`deepshadows._device.resolve_precision`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepshadows._device import autocast
from deepshadows.models.preprocess import as_network_input

__all__ = ["batch_loss", "consistency_loss", "evaluate_loss", "train_one_epoch"]

Batch = tuple[Any, Any]


def _to_device(batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batch
    y = torch.as_tensor(y).to(device, dtype=torch.long, non_blocking=True)
    return as_network_input(x, device), y


def batch_loss(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the mean data loss of a batch and the number of correct predictions.

    Parameters
    ----------
    logits : torch.Tensor
        Shape (B,) for a model with one output (binary cross-entropy on the logit; the
        prediction is positive when the logit exceeds 0, i.e. the probability exceeds 0.5), or
        (B, K) for K classes (cross-entropy; the prediction is the arg-max).
    y : torch.Tensor of shape (B,), integer
        Targets.

    Returns
    -------
    loss : torch.Tensor
        Mean loss over the batch (scalar, float32).
    correct : torch.Tensor
        Number of correct predictions (scalar).
    """
    logits = logits.float()
    if logits.ndim == 1:
        loss = F.binary_cross_entropy_with_logits(logits, y.float())
        predicted = (logits > 0).long()
    else:
        loss = F.cross_entropy(logits, y)
        predicted = logits.argmax(dim=1)
    return loss, (predicted == y).sum()


def consistency_loss(
    weak: torch.Tensor, strong: torch.Tensor, confidence: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return FixMatch's loss on unlabelled cutouts, with its confident share and LSBG share.

    Parameters
    ----------
    weak, strong : torch.Tensor
        Logits of the weak and the strong view of the same cutouts, shape (B,) for one output
        or (B, K) for K classes.
    confidence : float
        A weak view's prediction becomes a pseudo-label where the probability of its class is
        at least this.

    Returns
    -------
    loss : torch.Tensor
        Mean over the batch of the strong view's cross-entropy with the pseudo-label, zero
        where the weak view is not confident.
    confident : torch.Tensor
        Share of confident weak views.
    lsbg : torch.Tensor
        Share of LSBGs (class 1) among the confident pseudo-labels.
    """
    weak = weak.detach().float()
    strong = strong.float()
    if weak.ndim == 1:
        p = torch.sigmoid(weak)
        pseudo = (p > 0.5).float()
        mask = (torch.maximum(p, 1 - p) >= confidence).float()
        loss = F.binary_cross_entropy_with_logits(strong, pseudo, reduction="none")
        positive = pseudo
    else:
        top, pseudo_k = torch.softmax(weak, dim=1).max(dim=1)
        mask = (top >= confidence).float()
        loss = F.cross_entropy(strong, pseudo_k, reduction="none")
        positive = (pseudo_k == 1).float()
    return (loss * mask).mean(), mask.mean(), (positive * mask).sum() / mask.sum().clamp(min=1)


def _aligned_forward(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    alignment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the logits of ``x`` and the alignment loss of its features with ``target``'s.

    One forward pass over both batches (their batch-normalisation statistics are shared); the
    model must offer ``forward_features``, ``forward_head(..., pre_logits=True)`` and ``head``.
    """
    b = x.shape[0]
    embedding = model.forward_head(model.forward_features(torch.cat([x, target])), pre_logits=True)
    logits = model.head(embedding[:b])
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    return logits, alignment(embedding[:b], embedding[b:])


def _penalty(model: nn.Module, reference: torch.Tensor) -> torch.Tensor:
    penalty = getattr(model, "l2_penalty", None)
    return penalty() if callable(penalty) else reference.new_zeros(())


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    target_batches: Iterator[Any] | None = None,
    alignment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    alignment_weight: float = 1.0,
    unlabelled_views: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None,
    unlabelled_weight: float = 1.0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Train for one pass over ``batches``.

    Each step minimises the mean data loss of the batch plus ``model.l2_penalty()`` (when the
    model defines it), as Keras adds the kernel regularisers to the loss. An optimizer with a
    true ``folds_l2_penalty`` attribute (:class:`deepshadows.training.optim.KerasAdadelta`)
    applies the penalty's gradient itself and reports the penalty as ``last_penalty``; the
    loss is then the data loss alone.

    Parameters
    ----------
    model : torch.nn.Module
        Model returning logits; put in training mode.
    batches : iterable of (x, y)
        Training batches (see the module docstring).
    optimizer : torch.optim.Optimizer
        Optimizer over the model's parameters.
    device : torch.device
        Device of the model.
    precision : {"fp32", "bf16", "fp16"}, optional
        Arithmetic of the forward pass (already resolved for the device).
    scaler : torch.amp.GradScaler, optional
        Gradient scaler for float16 mixed precision on CUDA.
    target_batches : iterator, optional
        Endless batches of unlabelled target cutouts (uint8 (B, H, W, C) or network input) for
        domain adaptation; used with ``alignment``.
    alignment : callable, optional
        ``alignment(source_features, target_features)``: a loss between the 1024-d features of
        the training batch and of a target batch (:class:`deepshadows.adapt.FeatureAlignment`),
        added to the objective with ``alignment_weight``.
    alignment_weight : float, optional
        Weight of the alignment loss.
    unlabelled_views : iterator, optional
        Endless pairs of network input, the weak and the strong view of the same unlabelled
        cutouts: each step adds :func:`consistency_loss` on them with ``unlabelled_weight``
        (semi-supervised training; not with ``alignment``).
    unlabelled_weight, confidence : float, optional
        Weight of that loss and its pseudo-label threshold.

    Returns
    -------
    dict
        ``loss`` (mean data loss per image), ``total_loss`` (mean of data loss plus L2 penalty
        per image, the minimised objective), ``l2_penalty`` (mean penalty per step),
        ``accuracy`` (with dropout and batch statistics active, as Keras reports it), ``n``
        (images seen), with ``alignment``, ``alignment`` (its mean per step) and, with
        ``unlabelled_views``, ``unlabelled_loss`` and ``confident_fraction`` (means per step).

    Raises
    ------
    ValueError
        If ``batches`` is empty.
    """
    model.train()
    # An optimizer that applies the penalty's gradient itself reports the penalty after its step.
    folded = bool(getattr(optimizer, "folds_l2_penalty", False))
    adapting = alignment is not None and target_batches is not None
    loss_sum = total_sum = penalty_sum = correct = None
    align_sum = unlabelled_sum = confident_sum = 0.0
    n = steps = 0
    for batch in batches:
        x, y = _to_device(batch, device)
        target = as_network_input(next(target_batches), device) if adapting else None
        views = None
        if unlabelled_views is not None:
            views = [as_network_input(v, device) for v in next(unlabelled_views)]
        with autocast(device, precision):
            if target is not None:
                logits, aligned = _aligned_forward(model, x, target, alignment)
            elif views is not None:
                b, u = x.shape[0], views[0].shape[0]
                every = model(torch.cat([x, *views]))
                every = every.squeeze(1) if every.ndim == 2 and every.shape[1] == 1 else every
                logits, weak, strong = every[:b], every[b : b + u], every[b + u :]
            else:
                logits = model(x)
        loss, right = batch_loss(logits, y)
        penalty = None if folded else _penalty(model, loss)
        objective = loss if penalty is None else loss + penalty
        if views is not None:
            u_loss, confident, _ = consistency_loss(weak, strong, confidence)
            objective = objective + unlabelled_weight * u_loss
            unlabelled_sum += float(u_loss.detach())
            confident_sum += float(confident)
        if adapting:
            aligned = aligned.float()
            objective = objective + alignment_weight * aligned
            align_sum += float(aligned.detach())
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(objective).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            objective.backward()
            optimizer.step()
        if penalty is None:
            reported = getattr(optimizer, "last_penalty", None)
            penalty = loss.new_zeros(()) if reported is None else reported.to(loss.device)
        total = loss + penalty
        b = y.shape[0]
        # Sums stay on the device; one synchronisation at the end of the epoch.
        step = (loss.detach() * b, total.detach() * b, penalty.detach(), right)
        if loss_sum is None:
            loss_sum, total_sum, penalty_sum, correct = step
        else:
            loss_sum, total_sum = loss_sum + step[0], total_sum + step[1]
            penalty_sum, correct = penalty_sum + step[2], correct + step[3]
        n += b
        steps += 1
    if n == 0:
        raise ValueError("no training batches")
    result = {
        "loss": float(loss_sum) / n,
        "total_loss": float(total_sum) / n,
        "l2_penalty": float(penalty_sum) / steps,
        "accuracy": float(correct) / n,
        "n": n,
    }
    if adapting:
        result["alignment"] = align_sum / steps
    if unlabelled_views is not None:
        result["unlabelled_loss"] = unlabelled_sum / steps
        result["confident_fraction"] = confident_sum / steps
    return result


def evaluate_loss(
    model: nn.Module, batches: Iterable[Batch], *, device: torch.device, precision: str = "fp32"
) -> dict[str, float]:
    """Return the loss and accuracy of ``model`` in evaluation mode over ``batches``.

    Parameters
    ----------
    model : torch.nn.Module
        Model returning logits; put in evaluation mode (dropout off, BatchNorm running
        statistics).
    batches : iterable of (x, y)
        Validation batches (see the module docstring).
    device : torch.device
        Device of the model.
    precision : {"fp32", "bf16", "fp16"}, optional
        Arithmetic of the forward pass (already resolved for the device).

    Returns
    -------
    dict
        ``loss`` (mean data loss per image), ``total_loss`` (``loss`` plus the model's L2
        penalty, as Keras reports a validation loss), ``accuracy`` and ``n``.

    Raises
    ------
    ValueError
        If ``batches`` is empty.
    """
    model.eval()
    loss_sum = 0.0
    correct = 0
    n = 0
    with torch.inference_mode():
        for batch in batches:
            x, y = _to_device(batch, device)
            with autocast(device, precision):
                logits = model(x)
            loss, right = batch_loss(logits, y)
            loss_sum += float(loss) * y.shape[0]
            correct += int(right)
            n += y.shape[0]
        if n == 0:
            raise ValueError("no validation batches")
        penalty = float(_penalty(model, torch.zeros(())))
    return {"loss": loss_sum / n, "total_loss": loss_sum / n + penalty, "accuracy": correct / n, "n": n}
