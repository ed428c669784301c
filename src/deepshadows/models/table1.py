"""The DeepShadows CNN exactly as in Table 1 of Tanoglidis et al. (2021), with Keras conventions."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.models.layers import FastDropout, _check_counts, _FeatureClassifier
from deepshadows.models.registry import register_model

__all__ = ["BN_EPS", "BN_MOMENTUM", "DeepShadowsCNN"]

#: BatchNorm momentum in PyTorch's convention (weight of the new batch), i.e. Keras's 0.99.
BN_MOMENTUM = 0.01
#: BatchNorm epsilon of Keras.
BN_EPS = 1e-3
_FILTERS = (16, 32, 64)
_HIDDEN = 1024


class _ConvBlock(nn.Module):
    """Conv 3x3 "same" -> ReLU -> BatchNorm -> MaxPool 2x2 -> Dropout, as one row group of Table 1."""

    def __init__(self, in_chans: int, out_chans: int, drop_rate: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, out_chans, kernel_size=3, padding="same")
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm2d(out_chans, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.pool = nn.MaxPool2d(2)
        self.drop = FastDropout(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.pool(self.bn(self.act(self.conv(x)))))


@register_model("deepshadows-table1")
class DeepShadowsCNN(_FeatureClassifier):
    """The DeepShadows classifier of LSBGs and artifacts (Table 1 of the paper).

    Three blocks of a 3x3 convolution with "same" padding (16, 32 and 64 filters), ReLU,
    batch normalisation, 2x2 max pooling and dropout; then flatten (4096 values for 64x64
    input), a fully connected layer of 1024 units with ReLU, and a final fully connected layer.
    The final layer returns logits: the sigmoid (binary) or softmax (several classes) of the
    paper is applied by the loss and at prediction time.

    The Keras conventions of the original are kept:

    * kernels are initialised Glorot-uniform, biases with zeros;
    * dropout zeroes elements and scales the rest by ``1 / (1 - rate)``, drawing its random
      numbers 16 bits at a time (:class:`~deepshadows.models.layers.FastDropout`);
    * batch normalisation uses momentum 0.01 in PyTorch's convention (Keras 0.99) and
      epsilon 1e-3;
    * the flatten runs over channels-last order (N, H, W, C), so the rows of the first dense
      kernel map one to one onto a Keras ``Dense`` kernel;
    * the L2 regularisation is a loss term, not weight decay: :meth:`l2_penalty` returns
      ``conv_l2 * sum(w**2)`` over the three convolution kernels plus ``dense_l2 * sum(w**2)``
      over the kernel of the 1024-unit layer (biases, batch normalisation and the output layer
      are not penalised), exactly as Keras adds ``kernel_regularizer=l2(...)`` terms.

    With the defaults the binary model has 4,220,161 trainable parameters and 224 batch
    normalisation running statistics, 4,220,385 in all as Keras counts them.

    Parameters
    ----------
    in_chans : int, optional
        Input channels (3 for g, r, z rendered as RGB).
    num_classes : int, optional
        1 for the binary problem (one logit: LSBG versus artifact), or the number of classes
        (3 for the three-class problem of the paper's appendix A).
    image_size : int, optional
        Side of the square input in pixels; a multiple of 8.
    drop_rate : float, optional
        Dropout rate after each pooling layer.
    conv_l2 : float, optional
        L2 factor of the convolution kernels.
    dense_l2 : float, optional
        L2 factor of the kernel of the 1024-unit layer.

    Attributes
    ----------
    num_classes, in_chans, image_size : int
        As given.
    drop_rate, conv_l2, dense_l2 : float
        As given (the L2 factors of :meth:`l2_penalty` and :meth:`l2_param_groups`).
    model_kwargs : dict
        The constructor arguments, recorded with saved weights.
    gradcam_layer : torch.nn.Module
        The ReLU of the last convolution: its output is the output of the last convolutional
        layer as Keras defines it (``Conv2D(..., activation="relu")``), the feature maps
        Grad-CAM weights.

    Raises
    ------
    deepshadows.errors.InputError
        If an argument is out of range.
    """

    architecture = "deepshadows-table1"

    def __init__(
        self,
        *,
        in_chans: int = 3,
        num_classes: int = 1,
        image_size: int = 64,
        drop_rate: float = 0.4,
        conv_l2: float = 0.13,
        dense_l2: float = 0.12,
    ) -> None:
        _check_args(in_chans, num_classes, image_size, drop_rate, conv_l2, dense_l2)
        drop_rate, conv_l2, dense_l2 = float(drop_rate), float(conv_l2), float(dense_l2)
        super().__init__(
            in_chans, num_classes, image_size, drop_rate=drop_rate, conv_l2=conv_l2, dense_l2=dense_l2
        )
        self.drop_rate, self.conv_l2, self.dense_l2 = drop_rate, conv_l2, dense_l2
        chans = (self.in_chans, *_FILTERS)
        self.blocks = nn.Sequential(
            *(
                _ConvBlock(c_in, c_out, self.drop_rate)
                for c_in, c_out in zip(chans[:-1], chans[1:], strict=True)
            )
        )
        side = self.image_size // 2 ** len(_FILTERS)
        self.num_features = _FILTERS[-1] * side * side
        self.fc = nn.Linear(self.num_features, _HIDDEN)
        self.fc_act = nn.ReLU()
        self.head = nn.Linear(_HIDDEN, self.num_classes)
        self.reset_parameters()

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last convolutional layer's activation (hook its output for Grad-CAM)."""
        return self.blocks[-1].act

    def _kernels(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return [block.conv.weight for block in self.blocks], [self.fc.weight]

    def reset_parameters(self) -> None:
        """Initialise as Keras does: Glorot-uniform kernels, zero biases, unit BatchNorm."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()

    def l2_penalty(self) -> torch.Tensor:
        """Return the L2 regularisation term to add to the loss (a scalar tensor with gradient)."""
        conv, dense = self._kernels()
        total = self.conv_l2 * sum(w.square().sum() for w in conv)
        return total + self.dense_l2 * sum(w.square().sum() for w in dense)

    def l2_param_groups(self) -> list[dict[str, Any]]:
        """Return the parameters in optimizer groups that carry their L2 factor ``l2``.

        For optimizers that apply the penalty's gradient themselves, such as
        :class:`deepshadows.training.optim.KerasAdadelta`: the convolution kernels (``conv_l2``),
        the kernel of the 1024-unit layer (``dense_l2``) and everything else (0).
        """
        conv, dense = self._kernels()
        penalised = {id(w) for w in (*conv, *dense)}
        rest = [p for p in self.parameters() if id(p) not in penalised]
        return [
            {"params": conv, "l2": self.conv_l2},
            {"params": dense, "l2": self.dense_l2},
            {"params": rest, "l2": 0.0},
        ]

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Return logits (or the 1024-d embedding) from :meth:`forward_features` output.

        Parameters
        ----------
        features : torch.Tensor of shape (N, 64, H / 8, W / 8)
            Output of :meth:`forward_features`.
        pre_logits : bool, optional
            Return the output of the 1024-unit layer (after its ReLU) instead of the logits.

        Returns
        -------
        torch.Tensor
            Shape (N, 1024) with ``pre_logits``; otherwise (N,) for one class and
            (N, num_classes) for several.
        """
        # Channels-last flatten, as Keras's Flatten on (N, H, W, C) tensors.
        x = self.fc_act(self.fc(features.permute(0, 2, 3, 1).flatten(1)))
        if pre_logits:
            return x
        logits = self.head(x)
        return logits.squeeze(1) if self.num_classes == 1 else logits

    def inference_module(self, *, input_scale: float = 1.0) -> nn.Module:
        """Return an equivalent evaluation-only network with less arithmetic per image.

        In evaluation mode batch normalisation is a per-channel affine map ``a·x + b``. Where
        every ``a`` of a block is positive it commutes with max pooling, so it is applied after
        the pooling, on a quarter of the values; that of the last block is folded into the
        1024-unit layer, and ``input_scale`` (e.g. 1/255 for uint8 input) into the first
        convolution. Dropout disappears. The logits equal those of ``self.eval()`` up to float
        rounding; the weights are copies, detached from ``self``.

        Parameters
        ----------
        input_scale : float, optional
            Factor the input is multiplied by before the first convolution.

        Returns
        -------
        torch.nn.Module
            Module with the same ``forward`` contract, for inference and export only.
        """
        return _InferenceTable1(self, float(input_scale))


class _InferenceTable1(nn.Module):
    """:meth:`DeepShadowsCNN.inference_module`: the Table-1 network rearranged for inference."""

    def __init__(self, model: DeepShadowsCNN, input_scale: float) -> None:
        super().__init__()
        self.num_classes = model.num_classes
        convs, scales, shifts, after_pool = [], [], [], []
        with torch.no_grad():
            for i, block in enumerate(model.blocks):
                conv = nn.Conv2d(block.conv.in_channels, block.conv.out_channels, 3, padding="same")
                conv.weight.copy_(block.conv.weight * (input_scale if i == 0 else 1.0))
                conv.bias.copy_(block.conv.bias)
                bn = block.bn
                a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                b = bn.bias - bn.running_mean * a
                convs.append(conv)
                scales.append(a.view(1, -1, 1, 1).clone())
                shifts.append(b.view(1, -1, 1, 1).clone())
                after_pool.append(bool((a > 0).all()))
            self.fc = nn.Linear(model.fc.in_features, model.fc.out_features)
            self.fc.weight.copy_(model.fc.weight)
            self.fc.bias.copy_(model.fc.bias)
            self.fold_last = after_pool[-1]
            if self.fold_last:
                # Flatten runs over (H, W, C): the channel of input column j is j % C.
                a, b = scales[-1].flatten(), shifts[-1].flatten()
                reps = model.fc.in_features // a.numel()
                self.fc.weight.mul_(a.repeat(reps))
                self.fc.bias.add_(model.fc.weight @ b.repeat(reps))
            self.head = nn.Linear(model.head.in_features, model.head.out_features)
            self.head.load_state_dict(model.head.state_dict())
        self.convs = nn.ModuleList(convs)
        for i, (a, b) in enumerate(zip(scales, shifts, strict=True)):
            self.register_buffer(f"scale{i}", a)
            self.register_buffer(f"shift{i}", b)
        self.after_pool = after_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits as :meth:`DeepShadowsCNN.forward` in evaluation mode."""
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            a, b = getattr(self, f"scale{i}"), getattr(self, f"shift{i}")
            if self.after_pool[i]:
                x = torch.nn.functional.max_pool2d(x, 2)
                if not (i == last and self.fold_last):
                    x = x * a + b
            else:
                x = torch.nn.functional.max_pool2d(x * a + b, 2)
        x = torch.relu(self.fc(x.permute(0, 2, 3, 1).flatten(1)))
        logits = self.head(x)
        return logits.squeeze(1) if self.num_classes == 1 else logits


def _check_args(
    in_chans: int, num_classes: int, image_size: int, drop_rate: float, conv_l2: float, dense_l2: float
) -> None:
    _check_counts(in_chans, num_classes)
    if int(image_size) < 8 or int(image_size) % 8:
        raise InputError(f"image_size: must be a positive multiple of 8, got {image_size}")
    if not 0.0 <= float(drop_rate) < 1.0:
        raise InputError(f"drop_rate: must lie in [0, 1), got {drop_rate}")
    for name, value in (("conv_l2", conv_l2), ("dense_l2", dense_l2)):
        if not (math.isfinite(float(value)) and float(value) >= 0.0):
            raise InputError(f"{name}: must be a non-negative number, got {value}")
