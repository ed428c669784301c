"""A compact residual network for 64x64 cutouts, beside the paper's Table-1 CNN.

Not part of the paper: a small modern convolutional network (ResNet-style basic blocks with
batch normalisation, zero-initialised residual branches, global average pooling) sized for
64x64 input and for training on a few CPU cores. It is written in plain PyTorch rather than
taken from timm because timm imports torchvision, which the pinned CPU build of torch does not
ship with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from deepshadows._io import check_at_least_one
from deepshadows.errors import InputError
from deepshadows.models.layers import _check_counts, _FeatureClassifier
from deepshadows.models.registry import register_model

__all__ = ["CompactResNet"]

_WIDTHS = (24, 48, 96, 192)
_DEPTHS = (1, 1, 2, 1)


def _conv_bn(in_chans: int, out_chans: int, *, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_chans))


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch normalisation and a residual connection, then ReLU.

    The first convolution may halve the resolution; the shortcut is then a strided 1x1
    convolution with batch normalisation (also when the width changes).
    """

    def __init__(self, in_chans: int, out_chans: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn(in_chans, out_chans, stride=stride)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = _conv_bn(out_chans, out_chans)
        self.shortcut = (
            _conv_bn(in_chans, out_chans, kernel_size=1, stride=stride)
            if stride != 1 or in_chans != out_chans
            else nn.Identity()
        )
        self.act2 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.conv2(self.act1(self.conv1(x))) + self.shortcut(x))


@register_model("compact-resnet")
class CompactResNet(_FeatureClassifier):
    """A compact ResNet for 64x64 cutouts (not in the paper; a stronger alternative to Table 1).

    A 3x3 stride-2 stem convolution (64x64 to 32x32), then four stages of basic residual
    blocks at 32x32, 16x16, 8x8 and 4x4 (each later stage halves the resolution in its first
    block), global average pooling, a fully connected pre-logits layer with ReLU, dropout and
    the output layer. Every convolution is followed by batch normalisation; the last batch
    normalisation of each residual branch starts at zero, so that every block starts as the
    identity. Kernels are initialised He-normal (fan-out), linear layers as PyTorch does.

    With the defaults the binary model has 906,489 trainable parameters and takes 46.7
    million multiply-adds per 64x64 image (the Table-1 CNN: 4,220,161 and 15.4 million).

    Parameters
    ----------
    in_chans : int, optional
        Input channels (3 for g, r, z rendered as RGB).
    num_classes : int, optional
        1 for the binary problem (one logit), or the number of classes.
    image_size : int, optional
        Side of the square input in pixels; a multiple of ``2 ** len(widths)`` (16 by default).
    widths : sequence of int, optional
        Channels of each stage; the stem has as many as the first stage.
    depths : sequence of int, optional
        Residual blocks per stage (as many entries as ``widths``).
    hidden : int, optional
        Units of the pre-logits layer (the embedding of :meth:`forward_head` with
        ``pre_logits=True``).
    drop_rate : float, optional
        Dropout rate before the output layer.

    Attributes
    ----------
    num_classes, in_chans, image_size : int
        As given.
    model_kwargs : dict
        The constructor arguments, recorded with saved weights.
    blocks : torch.nn.Sequential
        The stem and the stages (the convolutional body frozen by head-only fine-tuning).
    fc, head : torch.nn.Linear
        The pre-logits layer and the output layer.

    Raises
    ------
    deepshadows.errors.InputError
        If an argument is out of range; the message names it.
    """

    architecture = "compact-resnet"
    #: Training defaults of this architecture, filled into a
    #: :class:`~deepshadows.training.TrainConfig` that does not set them.
    training_defaults: dict[str, Any] = {
        "optimizer": "adamw",
        "lr": 2e-3,
        "weight_decay": 0.05,
        "schedule": "cosine",
        "warmup_epochs": 1,
    }

    def __init__(
        self,
        *,
        in_chans: int = 3,
        num_classes: int = 1,
        image_size: int = 64,
        widths: Sequence[int] = _WIDTHS,
        depths: Sequence[int] = _DEPTHS,
        hidden: int = 256,
        drop_rate: float = 0.2,
    ) -> None:
        widths, depths = _check_args(in_chans, num_classes, image_size, widths, depths, hidden, drop_rate)
        super().__init__(
            in_chans,
            num_classes,
            image_size,
            widths=list(widths),
            depths=list(depths),
            hidden=int(hidden),
            drop_rate=float(drop_rate),
        )
        stem = nn.Sequential(*_conv_bn(self.in_chans, widths[0], stride=2), nn.ReLU(inplace=True))
        stages, chans = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            stride = 1 if i == 0 else 2
            stage = [_BasicBlock(chans, width, stride)]
            stage += [_BasicBlock(width, width, 1) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*stage))
            chans = width
        self.blocks = nn.Sequential(stem, *stages)
        self.num_features = chans
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(chans, int(hidden))
        self.fc_act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(float(drop_rate))
        self.head = nn.Linear(int(hidden), self.num_classes)
        self.reset_parameters()

    @property
    def gradcam_layer(self) -> nn.Module:
        """The final ReLU of the last residual block (4x4 maps for 64x64 input)."""
        return self.blocks[-1][-1].act2

    def reset_parameters(self) -> None:
        """He-normal convolutions, unit batch normalisation with zero-initialised residual ends."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
            elif isinstance(module, nn.Linear):
                module.reset_parameters()
        for module in self.modules():
            if isinstance(module, _BasicBlock):
                nn.init.zeros_(module.conv2[1].weight)

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Return logits (or the pre-logits embedding) from :meth:`forward_features` output.

        Parameters
        ----------
        features : torch.Tensor of shape (N, C, H, W)
            Output of :meth:`forward_features`.
        pre_logits : bool, optional
            Return the output of the pre-logits layer (after its ReLU, before dropout).

        Returns
        -------
        torch.Tensor
            Shape (N, hidden) with ``pre_logits``; otherwise (N,) for one class and
            (N, num_classes) for several.
        """
        x = self.fc_act(self.fc(self.pool(features).flatten(1)))
        if pre_logits:
            return x
        logits = self.head(self.drop(x))
        return logits.squeeze(1) if self.num_classes == 1 else logits

    def no_weight_decay(self) -> set[str]:
        """Return the names of the parameters that weight decay should spare (biases, norms)."""
        return {name for name, p in self.named_parameters() if p.ndim <= 1}


def _check_args(
    in_chans: int,
    num_classes: int,
    image_size: int,
    widths: Sequence[int],
    depths: Sequence[int],
    hidden: int,
    drop_rate: float,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    _check_counts(in_chans, num_classes)
    widths, depths = tuple(int(w) for w in widths), tuple(int(d) for d in depths)
    if not widths or min(widths) < 1:
        raise InputError(f"widths: must be one or more positive integers, got {list(widths)}")
    if len(depths) != len(widths) or min(depths) < 1:
        raise InputError(
            f"depths: must give a positive number of blocks for each of the {len(widths)} stages, "
            f"got {list(depths)}"
        )
    factor = 2 ** len(widths)
    if int(image_size) < factor or int(image_size) % factor:
        raise InputError(f"image_size: must be a positive multiple of {factor}, got {image_size}")
    check_at_least_one(hidden, "hidden")
    if not (math.isfinite(float(drop_rate)) and 0.0 <= float(drop_rate) < 1.0):
        raise InputError(f"drop_rate: must lie in [0, 1), got {drop_rate}")
    return widths, depths
