"""Train a model on a store: configuration, data, loop, checkpoints, logs and figures.

A run folder holds:

``config.json``
    The training configuration, the store's path and fingerprint, the model and the versions.
``history.csv``
    One row per epoch: ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``,
    ``val_accuracy``, ``seconds`` and ``train_total_loss`` (data loss plus L2 penalty).
``training_history.png``
    Accuracy and loss against epoch (as Fig. 3 of the paper).
``model.safetensors``, ``model.json``
    Weights and description of the epoch with the lowest validation loss.
``last.pt``
    Checkpoint of the last completed epoch, to resume from.

Losses in the history are the data losses (binary cross-entropy, or cross-entropy for several
classes) averaged over images; the L2 penalty, which Keras would fold into both its ``loss`` and
``val_loss``, is reported separately so that the curves and the choice of the best epoch measure
the fit to the data alone.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from deepshadows._device import PRECISIONS, resolve_device, resolve_precision
from deepshadows._io import atomic_path, write_json_atomic
from deepshadows._provenance import package_versions, provenance
from deepshadows.data.store import Store, open_store
from deepshadows.errors import InputError
from deepshadows.models import create_model, fingerprint_store, list_models, save_model
from deepshadows.training.checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from deepshadows.training.loop import evaluate_loss, train_one_epoch
from deepshadows.training.optim import KerasAdadelta
from deepshadows.training.plots import plot_history
from deepshadows.training.selection import RowSelection

__all__ = [
    "BINARY_CLASS_NAMES",
    "HISTORY_COLUMNS",
    "RUN_FILES",
    "THREE_CLASS_NAMES",
    "TrainConfig",
    "class_names",
    "fit",
    "make_optimizer",
    "store_targets",
]

#: Class names of the binary problem, by target index (1 = LSBG, the positive class).
BINARY_CLASS_NAMES: tuple[str, ...] = ("artifact", "lsbg")
#: Class names of the three-class problem (paper appendix A), by target index: "artifacts 2",
#: LSBGs, "artifacts 1". LSBGs keep index 1 as in the binary problem.
THREE_CLASS_NAMES: tuple[str, ...] = ("type2", "lsbg", "type1")
#: Columns of ``history.csv``.
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
    "train_total_loss",
)
#: Files that make a folder a training run.
RUN_FILES: tuple[str, ...] = (
    "last.pt",
    "model.safetensors",
    "model.json",
    "history.csv",
    "config.json",
    "training_history.png",
)
# Configuration fields that may change when a run is resumed: they do not change the result
# of the epochs already trained.
_RESUMABLE = frozenset({"epochs", "patience", "device", "num_workers"})
_EVAL_BATCH = 256
# Rows read at once when a row selection too large for memory streams from the store.
_SELECTION_BLOCK = 4096

_T = TypeVar("_T")


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
        return cls(**dict(data)).validate()


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


def _run_paths(out: Path) -> dict[str, Path]:
    return {
        "run": out,
        "model": out / "model.safetensors",
        "model_json": out / "model.json",
        "checkpoint": out / "last.pt",
        "history": out / "history.csv",
        "plot": out / "training_history.png",
        "config": out / "config.json",
    }


def _check_resumable(state: Mapping[str, Any], cfg: TrainConfig, fingerprint: str, path: Path) -> None:
    hint = "pass --overwrite to start a new run in this folder"
    old, new = dict(state.get("config") or {}), cfg.to_dict()
    differ = sorted(k for k in old.keys() | new.keys() if k not in _RESUMABLE and old.get(k) != new.get(k))
    if differ:
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise InputError(
            f"{path}: cannot resume, the run was started with a different configuration ({detail}); {hint}"
        )
    if state.get("store_fingerprint") != fingerprint:
        raise InputError(f"{path}: cannot resume, the run was trained on a different data store; {hint}")


def _prepare_run(
    out: Path, cfg: TrainConfig, fingerprint: str, *, resume: bool, overwrite: bool
) -> dict[str, Any] | None:
    """Check the run folder and return the checkpoint to resume from, if any."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    present = [name for name in RUN_FILES if (out / name).exists()]
    checkpoint = out / "last.pt"
    if resume:
        if checkpoint.exists():
            state = load_checkpoint(checkpoint)
            _check_resumable(state, cfg, fingerprint, checkpoint)
            return state
        if present:
            raise InputError(
                f"{out}: no last.pt to resume from ({', '.join(present)} present); "
                "pass --overwrite to start a new run in this folder"
            )
    elif present:
        if not overwrite:
            raise InputError(
                f"{out}: folder already holds a training run ({', '.join(present)}); "
                "pass --resume to continue it or --overwrite to replace it"
            )
        for name in present:
            (out / name).unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the run folder ({exc.strerror})") from exc
    if not os.access(out, os.W_OK):
        raise InputError(f"{out}: run folder is not writable")
    return None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order of one epoch: the same in a resumed run as in a straight one."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _prefetch(items: Iterator[_T], depth: int) -> Generator[_T, None, None]:
    """Yield ``items`` in order, read up to ``depth`` ahead by a background thread."""
    if depth < 1:
        yield from items
        return
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_End(exc))
            return
        put(_End())

    thread = threading.Thread(target=produce, name="deepshadows-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class _Data:
    """The store and what a run needs from it."""

    store: Store
    path: str
    splits: dict[str, np.ndarray]
    targets: np.ndarray
    fingerprint: str
    shape: tuple[int, int, int]  # (C, H, W) of one cutout
    images: dict[str, np.ndarray] | None  # the train and val cutouts, when they fit in memory
    selection: RowSelection | None = None


def _memory_budget() -> int:
    """Bytes of cutouts a run may hold in memory: a quarter of the machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return 1 << 30


def _load_data(
    store: Store, store_path: str | os.PathLike[str], num_classes: int, selection: RowSelection | None = None
) -> _Data:
    fingerprint = fingerprint_store(store_path)
    if selection is None:
        splits = {split: store.indices(split) for split in ("train", "val")}
        targets = store_targets(store, num_classes)
    else:
        try:
            selection.check(len(store))
        except ValueError as exc:
            raise InputError(f"{store.path}: {exc}") from exc
        splits = {"train": selection.train, "val": selection.val}
        targets = selection.targets if selection.targets is not None else store_targets(store, num_classes)
        fingerprint = hashlib.sha256(f"{fingerprint}:{selection.fingerprint()}".encode()).hexdigest()
    for split, rows in splits.items():
        unknown = int(np.count_nonzero(targets[rows] < 0))
        if unknown:
            what = "label" if num_classes < 3 else "kind"
            raise InputError(
                f"{store.path}: {unknown} of {rows.size} rows in split {split!r} have no {what}; "
                "training needs labelled train and val splits"
            )
    height, width, chans = store.read_images(splits["train"][:1]).shape[1:]
    if height != width:
        raise InputError(f"{store.path}: cutouts must be square, got {height} x {width}")
    rows = sum(r.size for r in splits.values())
    images = None
    if rows * height * width * chans <= _memory_budget():
        # Decompress once: every epoch then draws its batches from memory.
        images = {split: store.read_images(r) for split, r in splits.items()}
    return _Data(
        store, str(store_path), splits, targets, fingerprint, (chans, height, width), images, selection
    )


def _batches(
    data: _Data, split: str, *, batch_size: int, seed: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (uint8 cutouts (B, H, W, C), targets) of a split; shuffled when ``seed`` is given.

    Splits held in memory are shuffled as a whole; larger ones stream from the store, shuffled
    chunk by chunk within a buffer (:meth:`Store.iter_batches`); larger row selections are read
    in shuffled blocks.
    """
    rows = data.splits[split]
    order = np.arange(rows.size) if seed is None else np.random.default_rng(seed).permutation(rows.size)
    if data.images is not None:
        images = data.images[split]
        for lo in range(0, rows.size, batch_size):
            pick = order[lo : lo + batch_size]
            yield images[pick], data.targets[rows[pick]]
        return
    if data.selection is not None:
        block = batch_size * max(1, _SELECTION_BLOCK // batch_size)
        for start in range(0, rows.size, block):
            picked = rows[order[start : start + block]]
            images = data.store.read_images(picked)
            for lo in range(0, picked.size, batch_size):
                yield images[lo : lo + batch_size], data.targets[picked[lo : lo + batch_size]]
        return
    batches = data.store.iter_batches(
        split, batch_size=batch_size, shuffle=seed is not None, seed=seed, raw=True
    )
    for x, _, idx in batches:
        yield x, data.targets[idx]


@dataclass
class _Run:
    """Mutable state of a run: what ``last.pt`` saves besides the model and optimizer."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf

    @property
    def epoch(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    def record(self, row: dict[str, Any]) -> bool:
        """Append an epoch's row and return whether it is the new best."""
        self.history.append(row)
        # The first epoch is always kept, so a run whose validation loss is NaN still has weights,
        # and a finite loss replaces a NaN one.
        best = self.best_val_loss
        if self.best_epoch == 0 or row["val_loss"] < best or math.isnan(best):
            self.best_epoch, self.best_val_loss = int(row["epoch"]), float(row["val_loss"])
            return True
        return False

    def patience_spent(self, patience: int | None) -> bool:
        return patience is not None and self.epoch > 0 and self.epoch - self.best_epoch >= patience


def _train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    data: _Data,
    cfg: TrainConfig,
    *,
    epoch: int,
    device: torch.device,
    precision: str,
    progress: bool,
) -> dict[str, Any]:
    """Train one epoch and validate; return the epoch's row of the history."""
    t0 = time.perf_counter()
    seed = _epoch_seed(cfg.seed, epoch)
    batches = _prefetch(_batches(data, "train", batch_size=cfg.batch_size, seed=seed), cfg.num_workers)
    bar = tqdm(
        batches,
        total=math.ceil(data.splits["train"].size / cfg.batch_size),
        desc=f"epoch {epoch}/{cfg.epochs}",
        unit="batch",
        disable=not progress,
        leave=False,
    )
    try:
        train = train_one_epoch(model, bar, optimizer, device=device, precision=precision, scaler=scaler)
    finally:
        bar.close()
        batches.close()  # stops a read-ahead thread at once if training failed
    val_batches = _batches(data, "val", batch_size=max(cfg.batch_size, _EVAL_BATCH))
    val = evaluate_loss(model, val_batches, device=device, precision=precision)
    return {
        "epoch": epoch,
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "seconds": time.perf_counter() - t0,
        "train_total_loss": train["total_loss"],
    }


def _restore(
    state: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> _Run:
    model.load_state_dict(state["model"])
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise InputError(
            f"cannot resume: the checkpoint's optimizer state does not fit this version's optimizer "
            f"({exc}); pass --overwrite to start a new run"
        ) from exc
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return _Run(
        [dict(row) for row in state["history"]], int(state["best_epoch"]), float(state["best_val_loss"])
    )


def _model_metadata(cfg: TrainConfig, data: _Data, precision: str) -> dict[str, Any]:
    """Sidecar entries of the saved weights, besides the metrics of the kept epoch."""
    return {
        "config": cfg.to_dict(),
        "trained_precision": precision,
        "store": {"path": data.path, "fingerprint": data.fingerprint},
        "selection": None if data.selection is None else data.selection.description,
        "versions": package_versions(),
        "class_names": list(class_names(cfg.num_classes)),
        "threshold": 0.5 if cfg.num_classes == 1 else None,
        "preprocessing": {
            "input_shape": [int(s) for s in data.shape],
            "source_dtype": "uint8",
            "scale": 1 / 255,
            "layout": "NCHW, channels in the store's order",
        },
    }


def _write_config(
    path: Path, cfg: TrainConfig, data: _Data, model: torch.nn.Module, resumed: int | None, precision: str
) -> None:
    write_json_atomic(
        path,
        {
            "train": cfg.to_dict(),
            "precision": precision,
            "store": {
                "path": data.path,
                "fingerprint": data.fingerprint,
                "n_train": int(data.splits["train"].size),
                "n_val": int(data.splits["val"].size),
            },
            "selection": None if data.selection is None else data.selection.description,
            "model": {"architecture": model.architecture, "model_kwargs": model.model_kwargs},
            "class_names": list(class_names(cfg.num_classes)),
            "resumed_from_epoch": resumed,
            "provenance": provenance(),
        },
    )


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})


def _epoch_line(row: Mapping[str, Any], epochs: int, best: bool) -> str:
    return (
        f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}  "
        f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.3f}  "
        f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.3f}  "
        f"{row['seconds']:.1f} s{'  *best' if best else ''}"
    )


def fit(
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    cfg: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], object] | None = None,
    selection: RowSelection | None = None,
) -> dict[str, Any]:
    """Train ``cfg.model`` on the train split of a store, validating on its val split.

    Every epoch draws the training batches in a shuffled order seeded by ``(cfg.seed, epoch)``,
    takes one Adadelta step per batch on the data loss plus the model's L2 penalty, measures
    loss and accuracy on the validation split in evaluation mode, keeps the weights of the
    epoch with the lowest validation loss (``model.safetensors``), and writes ``last.pt`` and
    ``history.csv``; ``training_history.png`` is drawn at the end. A run resumed from
    ``last.pt`` on the CPU ends with exactly the weights of an uninterrupted one.

    Parameters
    ----------
    store_path : path-like
        Data store with labelled ``train`` and ``val`` splits.
    out_dir : path-like
        Run folder (created if needed).
    cfg : TrainConfig
        Training configuration.
    resume : bool, optional
        Continue the run in ``out_dir`` from its ``last.pt`` up to ``cfg.epochs``. Only
        ``epochs``, ``patience``, ``device`` and ``num_workers`` may differ from the original
        configuration. Without a ``last.pt`` (and no other run files) a new run starts.
    overwrite : bool, optional
        Replace a run already in ``out_dir``.
    progress : bool, optional
        Show a progress bar per epoch.
    log : callable, optional
        Called with one line of text at the start and after every epoch (e.g. ``print``).
    selection : RowSelection, optional
        Train and validate on these rows (and targets) instead of the store's ``train`` and
        ``val`` splits and labels; a resumed run must be given the same selection.

    Returns
    -------
    dict
        ``best_epoch``, ``best_val_loss``, ``history`` (one dict per epoch, the rows of
        ``history.csv``), ``epochs_completed``, ``stopped_early`` and ``paths`` (``run``,
        ``model``, ``model_json``, ``checkpoint``, ``history``, ``plot``, ``config``).

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid configuration, an unreadable store, an empty or unlabelled train or val
        split, an existing run without ``resume`` or ``overwrite``, a run to resume that was
        started with a different configuration or store, or an unavailable device.
    """
    cfg = cfg.validate()
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other; choose one")
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    paths = _run_paths(Path(out_dir))
    emit = log if log is not None else (lambda _line: None)
    with open_store(store_path) as store:
        data = _load_data(store, store_path, cfg.num_classes, selection)
        state = _prepare_run(paths["run"], cfg, data.fingerprint, resume=resume, overwrite=overwrite)
        _seed_everything(cfg.seed)
        chans, size, _ = data.shape
        model = create_model(cfg.model, num_classes=cfg.num_classes, in_chans=chans, image_size=size)
        model = model.to(device, memory_format=torch.channels_last)
        optimizer = make_optimizer(model, cfg)
        scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        run = _Run() if state is None else _restore(state, model, optimizer, scaler)
        metadata = _model_metadata(cfg, data, precision)
        _write_config(paths["config"], cfg, data, model, None if state is None else run.epoch, precision)
        resumed = f", resuming after epoch {run.epoch}" if state is not None else ""
        emit(
            f"training {cfg.model} on {data.splits['train'].size} cutouts, validating on "
            f"{data.splits['val'].size}, device {device}, precision {precision}{resumed}"
        )
        stopped = run.patience_spent(cfg.patience)
        while not stopped and run.epoch < cfg.epochs:
            row = _train_epoch(
                model,
                optimizer,
                scaler,
                data,
                cfg,
                epoch=run.epoch + 1,
                device=device,
                precision=precision,
                progress=progress,
            )
            if run.record(row):
                metrics = {k: row[k] for k in HISTORY_COLUMNS if k != "seconds"}
                save_model(model, paths["model"], metadata={**metadata, "metrics": metrics})
            save_checkpoint(
                paths["checkpoint"],
                {
                    "epoch": run.epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "history": run.history,
                    "best_epoch": run.best_epoch,
                    "best_val_loss": run.best_val_loss,
                    "rng": get_rng_state(),
                    "config": cfg.to_dict(),
                    "store_fingerprint": data.fingerprint,
                },
            )
            _write_history(paths["history"], run.history)
            emit(_epoch_line(row, cfg.epochs, run.best_epoch == run.epoch))
            stopped = run.patience_spent(cfg.patience)
            if stopped and run.epoch < cfg.epochs:
                emit(f"stopping early: no lower validation loss for {cfg.patience} epochs")
    _write_history(paths["history"], run.history)
    plot_history(run.history, paths["plot"], best_epoch=run.best_epoch or None, title=cfg.model)
    return {
        "best_epoch": run.best_epoch,
        "best_val_loss": run.best_val_loss,
        "history": run.history,
        "epochs_completed": run.epoch,
        "stopped_early": stopped and run.epoch < cfg.epochs,
        "paths": paths,
    }
