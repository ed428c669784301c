"""The batches of a run: the store's splits in memory or streamed, shuffled per epoch, read ahead."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from deepshadows.errors import InputError
from deepshadows.models import fingerprint_store
from deepshadows.store.reader import Store
from deepshadows.training.config import store_targets
from deepshadows.training.selection import RowSelection

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

# Rows read at once when a row selection too large for memory streams from the store.
_SELECTION_BLOCK = 4096
# Batch size of the passes that only evaluate a model (validation loss, calibration logits).
_EVAL_BATCH = 256

_T = TypeVar("_T")


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetch(items: Iterator[_T], depth: int) -> Generator[_T, None, None]:
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
class RunData:
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


def load_run_data(
    store: Store, store_path: str | os.PathLike[str], num_classes: int, selection: RowSelection | None = None
) -> RunData:
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
    return RunData(
        store, str(store_path), splits, targets, fingerprint, (chans, height, width), images, selection
    )


def run_batches(
    data: RunData, split: str, *, batch_size: int, seed: int | None = None
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
