"""The configuration of a training run and the targets it trains on."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from deepshadows._device import PRECISIONS
from deepshadows.adapt.alignment import ALIGNMENT_LOSSES
from deepshadows.augment import AUGMENT_MODES
from deepshadows.calibration.fitting import CALIBRATION_METHODS
from deepshadows.data.store import Store
from deepshadows.errors import InputError
from deepshadows.models import list_models
from deepshadows.training.optim import KerasAdadelta

__all__ = [
    "BINARY_CLASS_NAMES",
    "THREE_CLASS_NAMES",
    "TrainConfig",
    "class_names",
    "make_optimizer",
    "store_targets",
]

#: Class names of the binary problem, by target index (1 = LSBG, the positive class).
BINARY_CLASS_NAMES: tuple[str, ...] = ("artifact", "lsbg")
#: Class names of the three-class problem (paper appendix A), by target index: "artifacts 2",
#: LSBGs, "artifacts 1". LSBGs keep index 1 as in the binary problem.
THREE_CLASS_NAMES: tuple[str, ...] = ("type2", "lsbg", "type1")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Configuration of a training run (saved with every run, checkpoint and weight file).

    The defaults are the paper's (section 4.2): Adadelta with learning rate 0.1, Keras's
    ``rho`` and ``epsilon``, batches of 64, 100 epochs.

    Parameters
    ----------
    epochs : int
        Number of epochs to train (a resumed run continues up to this number).
    batch_size : int
        Images per optimisation step.
    lr, rho, eps : float
        Adadelta learning rate, decay of the running averages and epsilon.
    seed : int
        Seed of the initial weights, dropout and the order of the batches.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA trains with mixed precision.
    patience : int or None
        Stop after this many epochs without a lower validation loss; None trains all epochs.
    model : str
        Registered architecture.
    num_classes : int
        1: binary (one logit, LSBG versus artifact); 2: the same as a two-class softmax;
        3: the three-class problem (type-2 artifacts, LSBGs, type-1 artifacts).
    num_workers : int
        Batches read ahead by a background thread (0 reads in the training thread). The result
        does not depend on it.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Arithmetic of the forward pass. ``"auto"``: bfloat16 mixed precision on CPUs with
        native bfloat16 arithmetic (about 1.5 times faster than float32 on a 2-core AVX512-BF16
        CPU, with the same test AUC), float16 mixed precision on CUDA, float32 otherwise.
    augment : {"default", "none"}
        On-the-fly augmentation of the training batches (:mod:`deepshadows.augment`): flips and
        rotations, shifts, blur, colour gains and noise, drawn anew every epoch.
    adapt_to : str or None
        A store of unlabelled cutouts of the target sky. When given, every step also aligns the
        network's 1024-d features of the training batch with those of a batch of target cutouts
        (:mod:`deepshadows.adapt`); None trains on the labelled store alone.
    adapt_loss : {"sinkhorn", "energy", "gaussian"}
        The alignment loss (geomloss ``SamplesLoss``): entropic Wasserstein (Sinkhorn) or an
        MMD with the energy or a Gaussian kernel.
    adapt_weight : float
        Weight of the alignment loss beside the classification loss.
    adapt_warmup : int
        Epochs over which that weight rises linearly from zero (0 in the first epoch): aligning
        features before the classifier has learnt any lets the network collapse them all to
        one point, which aligns perfectly and classifies nothing.
    calibration : {"temperature", "isotonic", "none"}
        Calibration fitted on the validation split after training and written to
        ``calibration.json`` (:mod:`deepshadows.calibration`): temperature scaling, isotonic
        regression (binary models only), or none (only the validation completeness-purity
        curve is stored, for choosing thresholds).
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float = 0.1
    rho: float = 0.95
    eps: float = 1e-7
    seed: int = 0
    device: str = "cpu"
    patience: int | None = None
    model: str = "deepshadows-table1"
    num_classes: int = 1
    num_workers: int = 0
    precision: str = "auto"
    augment: str = "default"
    adapt_to: str | None = None
    adapt_loss: str = "sinkhorn"
    adapt_weight: float = 0.1
    adapt_warmup: int = 3
    calibration: str = "temperature"

    def validate(self) -> TrainConfig:
        """Check every value, raising :class:`InputError` that names the parameter."""
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise InputError(f"--{name.replace('_', '-')}: must be a positive integer, got {value!r}")
        if not _is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise InputError(f"--lr: must be a positive number, got {self.lr!r}")
        if not _is_number(self.rho) or not 0.0 < self.rho < 1.0:
            raise InputError(f"--rho: must lie in (0, 1), got {self.rho!r}")
        if not _is_number(self.eps) or not math.isfinite(self.eps) or self.eps <= 0:
            raise InputError(f"--eps: must be a positive number, got {self.eps!r}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            raise InputError(f"--seed: must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.device, str):
            raise InputError(f"--device: must be a string such as 'cpu' or 'cuda', got {self.device!r}")
        if self.patience is not None and (not _is_int(self.patience) or self.patience < 1):
            raise InputError(f"--patience: must be a positive integer or None, got {self.patience!r}")
        if self.model not in list_models():
            raise InputError(
                f"--model: unknown architecture {self.model!r}; known: {', '.join(list_models())}"
            )
        if self.num_classes not in (1, 2, 3) or not _is_int(self.num_classes):
            raise InputError(
                f"--num-classes: must be 1 or 2 (LSBG versus artifact) or 3 (with type-1 artifacts), "
                f"got {self.num_classes!r}"
            )
        if not _is_int(self.num_workers) or self.num_workers < 0:
            raise InputError(f"--num-workers: must be a non-negative integer, got {self.num_workers!r}")
        if self.precision not in PRECISIONS:
            raise InputError(f"--precision: must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.augment not in AUGMENT_MODES:
            raise InputError(f"--augment: must be one of {', '.join(AUGMENT_MODES)}, got {self.augment!r}")
        if self.adapt_to is not None and not isinstance(self.adapt_to, str):
            raise InputError(f"--adapt-to: must be the path of a store, got {self.adapt_to!r}")
        if self.adapt_loss not in ALIGNMENT_LOSSES:
            raise InputError(
                f"--adapt-loss: must be one of {', '.join(ALIGNMENT_LOSSES)}, got {self.adapt_loss!r}"
            )
        if not _is_number(self.adapt_weight) or not math.isfinite(self.adapt_weight) or self.adapt_weight < 0:
            raise InputError(f"--adapt-weight: must be a non-negative number, got {self.adapt_weight!r}")
        if not _is_int(self.adapt_warmup) or self.adapt_warmup < 0:
            raise InputError(f"--adapt-warmup: must be a non-negative integer, got {self.adapt_warmup!r}")
        if self.calibration not in CALIBRATION_METHODS:
            raise InputError(
                f"--calibration: must be one of {', '.join(CALIBRATION_METHODS)}, got {self.calibration!r}"
            )
        if self.calibration == "isotonic" and self.num_classes != 1:
            raise InputError(
                f"--calibration isotonic: applies to binary models (--classes 1), got {self.num_classes} "
                "classes; use temperature"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build and validate a configuration from a mapping such as :meth:`to_dict` returns.

        Raises
        ------
        deepshadows.errors.InputError
            If a key is unknown or a value invalid.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"training configuration: unknown key(s) {', '.join(unknown)}")
        # Configurations written before augmentation and calibration existed had neither.
        return cls(**{"augment": "none", "calibration": "none", **dict(data)}).validate()


def class_names(num_classes: int) -> tuple[str, ...]:
    """Return the class names by target index for a model with ``num_classes`` outputs.

    Parameters
    ----------
    num_classes : {1, 2, 3}
        Outputs of the model, as :attr:`TrainConfig.num_classes`.

    Returns
    -------
    tuple of str
        :data:`THREE_CLASS_NAMES` (``("type2", "lsbg", "type1")``) for 3, else
        :data:`BINARY_CLASS_NAMES` (``("artifact", "lsbg")``).
    """
    return THREE_CLASS_NAMES if num_classes == 3 else BINARY_CLASS_NAMES


def store_targets(store: Store, num_classes: int) -> np.ndarray:
    """Return the training target of every row of a store.

    Parameters
    ----------
    store : Store
        Open store.
    num_classes : {1, 2, 3}
        1 or 2: the ``label`` column (1 = LSBG, 0 = artifact); 3: the ``kind`` column as an
        index into :data:`THREE_CLASS_NAMES`.

    Returns
    -------
    ndarray of shape (n,), int64
        Targets, -1 for rows without a label.
    """
    if num_classes == 3:
        lookup = {name: i for i, name in enumerate(THREE_CLASS_NAMES)}
        return np.array([lookup.get(kind, -1) for kind in store.kinds.tolist()], dtype=np.int64)
    return store.labels.astype(np.int64)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Return the optimizer of a run: Adadelta with the model's L2 regularisers folded in.

    Models that define ``l2_param_groups()`` get their penalties applied in the fused update of
    :class:`deepshadows.training.optim.KerasAdadelta`. A model that defines only
    ``l2_penalty()`` gets :class:`torch.optim.Adadelta`, and the training loop adds the
    penalty to the loss.

    Parameters
    ----------
    model : torch.nn.Module
        The model to train.
    cfg : TrainConfig
        Gives the learning rate ``lr``, ``rho`` and ``eps`` of Adadelta.

    Returns
    -------
    torch.optim.Optimizer
        A :class:`~deepshadows.training.optim.KerasAdadelta` (with the L2 groups when the model
        has them), or :class:`torch.optim.Adadelta` for a model with ``l2_penalty()`` only.
    """
    groups = getattr(model, "l2_param_groups", None)
    if callable(groups):
        return KerasAdadelta(groups(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
    if callable(getattr(model, "l2_penalty", None)):
        return torch.optim.Adadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
    return KerasAdadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
