"""Prediction spread over workers: each task classifies one contiguous range of input rows.

A :class:`Partition` names the model and the input by path and a range of rows, so it pickles to
a local process or to a Dask worker on another machine that sees the same files. Each worker
loads the model once and keeps it for its later partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from deepshadows.failures import FailedRow

__all__ = ["Partition", "classify_partition", "classify_partitions"]

# Classifiers loaded by this process, by (model, device, precision): a worker keeps its model.
_LOADED: dict[tuple[str, str, str], Any] = {}


@dataclass(frozen=True)
class Partition:
    """Rows ``start`` to ``start + size`` of an input, to classify with a model.

    Parameters
    ----------
    model : str
        Model path (weights, run folder or ONNX file), absolute for remote workers.
    input : str
        Input path (store, folder of images or image).
    image_size : int
        Side of the model's input cutouts.
    resize : str or None
        Resampling of cutouts of another size.
    device, precision : str
        Where and in which arithmetic the model runs.
    batch_size : int
        Cutouts per forward pass.
    start, size : int
        The rows.
    members : bool, optional
        The model is an ensemble: return its members' logits, stacked on axis 1.
    """

    model: str
    input: str
    image_size: int
    resize: str | None
    device: str
    precision: str
    batch_size: int
    start: int = 0
    size: int = 0
    members: bool = False


def classify_partition(part: Partition) -> tuple[list[str], np.ndarray, list[FailedRow]]:
    """Return the ids and logits of a partition's rows (loading the model on first use).

    The model is kept in this process for the later partitions with the same model, device and
    precision.

    Parameters
    ----------
    part : Partition
        The model, the input and the rows to classify.

    Returns
    -------
    ids : list of str
        Identifiers of the rows, in input order (fewer than ``part.size`` at the end of the
        input; empty past it).
    logits : ndarray of shape (n,) or (n, K), float32
        Logits of those rows; (n, M) or (n, M, K) for the ``M`` members of an ensemble with
        ``part.members``.
    failures : list of FailedRow
        The rows of the partition whose image could not be read (they are not in ``ids``).
    """
    from deepshadows.predict.inputs import _open_input
    from deepshadows.predict.loading import load_classifier

    key = (part.model, part.device, part.precision)
    if key not in _LOADED:
        _LOADED[key] = load_classifier(part.model, device=part.device, precision=part.precision)[0]
    classify = _LOADED[key]
    source = _open_input(part.input, image_size=part.image_size, resize=part.resize)
    ids: list[str] = []
    images: list[np.ndarray] = []
    failures: list[FailedRow] = []
    for batch_ids, batch_images, batch_failures in source.blocks(part.start, part.size):
        ids, images, failures = batch_ids[: part.size], [batch_images[: part.size]], batch_failures
        break
    if not ids:
        return [], np.empty((0,), dtype=np.float32), failures
    forward = classify.member_logits if part.members else classify
    return ids, forward(np.concatenate(images), part.batch_size), failures


def classify_partitions(
    executor: Executor, template: Partition, *, start: int, total: int, size: int, max_in_flight: int
) -> Iterator[tuple[list[str], np.ndarray, list[FailedRow]]]:
    """Yield (ids, logits, failures) of rows ``start`` to ``total`` in order, ``size`` rows per task.

    Parameters
    ----------
    executor : concurrent.futures.Executor
        Runs the tasks (from :func:`deepshadows.parallel.open_executor`).
    template : Partition
        Model, input and options shared by every task; its ``start`` and ``size`` are replaced.
    start : int
        First row to classify (0-based; later than 0 when resuming).
    total : int
        Number of rows of the input; rows up to ``total - 1`` are classified.
    size : int
        Rows per task (the last task may have fewer).
    max_in_flight : int
        Tasks submitted ahead of the one being yielded.

    Yields
    ------
    ids : list of str
        Identifiers of one task's rows.
    logits : ndarray of shape (n,) or (n, K), float32
        Their logits.
    failures : list of FailedRow
        The task's rows whose image could not be read.
    """
    from deepshadows.parallel import map_ordered

    parts = (replace(template, start=lo, size=min(size, total - lo)) for lo in range(start, total, size))
    yield from map_ordered(executor, classify_partition, parts, max_in_flight=max_in_flight)
