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
from deepshadows._io import check_int
from deepshadows.adapt.alignment import ALIGNMENT_LOSSES
from deepshadows.augment import AUGMENT_MODES
from deepshadows.calibration.fitting import BINARY_ONLY_METHODS, CALIBRATION_METHODS
from deepshadows.errors import InputError
from deepshadows.models import list_models
from deepshadows.models.registry import model_class
from deepshadows.store.reader import Store
from deepshadows.training.optim import KerasAdadelta
from deepshadows.training.schedule import make_adamw

__all__ = [
    "BINARY_CLASS_NAMES",
    "THREE_CLASS_NAMES",
    "OPTIMIZERS",
    "PAPER_OPTIMIZER",
    "SCHEDULES",
    "TrainConfig",
    "class_names",
    "comparable_config",
    "make_optimizer",
    "optimizer_defaults",
    "store_targets",
]

#: The paper's architecture, the default of :attr:`TrainConfig.model`.
PAPER_MODEL = "deepshadows-table1"
#: Optimizers a run can use.
OPTIMIZERS: tuple[str, ...] = ("adadelta", "adamw")
#: Learning-rate schedules a run can use.
SCHEDULES: tuple[str, ...] = ("constant", "cosine")
#: The paper's optimizer settings (section 4.2): Adadelta at a constant learning rate of 0.1.
PAPER_OPTIMIZER: Mapping[str, Any] = {
    "optimizer": "adadelta",
    "lr": 0.1,
    "weight_decay": 0.0,
    "schedule": "constant",
    "warmup_epochs": 0,
}

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
    ``rho`` and ``epsilon``, batches of 64, 100 epochs. The optimizer settings left at None
    (``optimizer``, ``lr``, ``weight_decay``, ``schedule``, ``warmup_epochs``) are filled in
    from the architecture's defaults (:func:`optimizer_defaults`): the paper's for Table 1,
    AdamW with a cosine schedule for ``compact-resnet``; the resolved values are what
    ``to_dict`` returns and every run records.

    Parameters
    ----------
    epochs : int
        Number of epochs to train (a resumed run continues up to this number).
    batch_size : int
        Images per optimisation step.
    lr : float or None
        Peak learning rate (None: the architecture's default).
    rho, eps : float
        Adadelta's decay of the running averages and epsilon (unused by AdamW).
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
    calibration : {"temperature", "platt", "isotonic", "none"}
        Calibration fitted on the validation split after training and written to
        ``calibration.json`` (:mod:`deepshadows.calibration`): temperature scaling, Platt scaling
        (slope and bias of the logit, binary models only), isotonic
        regression (binary models only), or none (only the validation completeness-purity
        curve is stored, for choosing thresholds).
    optimizer : {"adadelta", "adamw"} or None
        Adadelta (with the model's L2 regularisers folded into its update, as the paper's
        Keras model) or AdamW with decoupled weight decay (spared on biases and normalisation
        parameters). None: the architecture's default.
    weight_decay : float or None
        AdamW's decoupled weight decay (0 with Adadelta). None: the architecture's default.
    schedule : {"constant", "cosine"} or None
        Learning rate over the run: constant, or a linear warm-up over ``warmup_epochs``
        followed by a cosine decay to zero at the last of ``epochs``, set before every step.
        None: the architecture's default.
    warmup_epochs : int or None
        Epochs of linear warm-up of the cosine schedule. None: the architecture's default.
    unlabelled : str or None
        A store of unlabelled cutouts of the target sky for semi-supervised training: every
        step adds FixMatch's consistency loss on as many unlabelled cutouts as the batch holds
        (:func:`deepshadows.training.loop.consistency_loss`). Not with ``adapt_to``.
    unlabelled_weight : float
        Weight of that loss.
    confidence : float
        Its pseudo-label threshold.
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float | None = None
    rho: float = 0.95
    eps: float = 1e-7
    seed: int = 0
    device: str = "cpu"
    patience: int | None = None
    model: str = PAPER_MODEL
    num_classes: int = 1
    num_workers: int = 0
    precision: str = "auto"
    augment: str = "default"
    adapt_to: str | None = None
    adapt_loss: str = "sinkhorn"
    adapt_weight: float = 0.1
    adapt_warmup: int = 3
    calibration: str = "temperature"
    optimizer: str | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    warmup_epochs: int | None = None
    unlabelled: str | None = None
    unlabelled_weight: float = 1.0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        defaults = optimizer_defaults(self.model if self.model in list_models() else PAPER_MODEL)
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def validate(self) -> TrainConfig:
        """Check every value, raising :class:`InputError` that names the parameter."""
        for name in ("epochs", "batch_size"):
            check_int(getattr(self, name), f"--{name.replace('_', '-')}")
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
        check_int(self.num_workers, "--num-workers", allow_zero=True)
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
        check_int(self.adapt_warmup, "--adapt-warmup", allow_zero=True)
        if self.calibration not in CALIBRATION_METHODS:
            raise InputError(
                f"--calibration: must be one of {', '.join(CALIBRATION_METHODS)}, got {self.calibration!r}"
            )
        self._validate_optimizer()
        if self.unlabelled is not None and self.adapt_to is not None:
            raise InputError("--unlabelled and --adapt-to exclude each other; give one")
        weight = self.unlabelled_weight
        if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise InputError(f"--unlabelled-weight: must be a finite number >= 0, got {weight!r}")
        if not _is_number(self.confidence) or not 0.5 <= self.confidence <= 1.0:
            raise InputError(f"--confidence: must lie in [0.5, 1], got {self.confidence!r}")
        if self.calibration in BINARY_ONLY_METHODS and self.num_classes != 1:
            raise InputError(
                f"--calibration {self.calibration}: applies to binary models (--classes 1), got "
                f"{self.num_classes} classes; use temperature"
            )
        return self

    def _validate_optimizer(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"--optimizer: must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        wd = self.weight_decay
        if not _is_number(wd) or not math.isfinite(wd) or wd < 0:
            raise InputError(f"--weight-decay: must be a non-negative number, got {wd!r}")
        if self.optimizer == "adadelta" and wd != 0:
            raise InputError(
                f"--weight-decay: applies to --optimizer adamw (Adadelta takes the model's L2 "
                f"penalties), got {wd!r}"
            )
        if self.schedule not in SCHEDULES:
            raise InputError(f"--schedule: must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        check_int(self.warmup_epochs, "--warmup-epochs", allow_zero=True)

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
        # Configurations written before augmentation and calibration existed had neither; those
        # written before the optimizer settings had the paper's, which the None defaults resolve to.
        return cls(**{"augment": "none", "calibration": "none", **dict(data)}).validate()


def optimizer_defaults(model: str) -> dict[str, Any]:
    """Return the optimizer settings an architecture trains with unless told otherwise.

    Parameters
    ----------
    model : str
        Registered architecture. Its class may define ``training_defaults``, a mapping of
        some of ``optimizer``, ``lr``, ``weight_decay``, ``schedule`` and ``warmup_epochs``;
        the others take the paper's values (:data:`PAPER_OPTIMIZER`).

    Returns
    -------
    dict
        ``optimizer``, ``lr``, ``weight_decay``, ``schedule`` and ``warmup_epochs``.
    """
    chosen = dict(getattr(model_class(model), "training_defaults", None) or {})
    return {key: chosen.get(key, value) for key, value in PAPER_OPTIMIZER.items()}


def comparable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored configuration with the optimizer settings it was trained with filled in.

    Configurations written before the optimizer settings were recorded lack them; they trained
    with their architecture's defaults. Used to compare a run to resume with its new settings.

    Parameters
    ----------
    config : mapping
        A configuration as :meth:`TrainConfig.to_dict` returns, possibly older.

    Returns
    -------
    dict
        The same mapping with any missing optimizer setting added.
    """
    model = config.get("model", PAPER_MODEL)
    defaults = optimizer_defaults(model if model in list_models() else PAPER_MODEL)
    return {**defaults, **{k: v for k, v in config.items() if not (k in defaults and v is None)}}


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
    """Return the optimizer of a run: AdamW, or Adadelta with the model's L2 regularisers folded in.

    With ``cfg.optimizer == "adamw"``: :func:`deepshadows.training.schedule.make_adamw` with
    ``cfg.lr`` and ``cfg.weight_decay`` (an L2 penalty the model defines is still added to the
    loss by the training loop). With Adadelta, models that define ``l2_param_groups()`` get
    their penalties applied in the fused update of
    :class:`deepshadows.training.optim.KerasAdadelta`. A model that defines only
    ``l2_penalty()`` gets :class:`torch.optim.Adadelta`, and the training loop adds the
    penalty to the loss.

    Parameters
    ----------
    model : torch.nn.Module
        The model to train.
    cfg : TrainConfig
        Gives ``optimizer``, the learning rate ``lr``, ``rho`` and ``eps`` of Adadelta and the
        ``weight_decay`` of AdamW.

    Returns
    -------
    torch.optim.Optimizer
        :class:`torch.optim.AdamW`; or a :class:`~deepshadows.training.optim.KerasAdadelta`
        (with the L2 groups when the model has them), or :class:`torch.optim.Adadelta` for a
        model with ``l2_penalty()`` only.
    """
    if cfg.optimizer == "adamw":
        return make_adamw(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    groups = getattr(model, "l2_param_groups", None)
    if callable(groups):
        return KerasAdadelta(groups(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
    if callable(getattr(model, "l2_penalty", None)):
        return torch.optim.Adadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
    return KerasAdadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
