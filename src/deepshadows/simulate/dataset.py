"""Simulate a whole survey data set into one HDF5 store, in parallel, resumably.

Each object ``i`` has its own seed, ``SeedSequence(seed, spawn_key=(i,))``, and its kind and
subclass are fixed up front from the data-set seed, so the store is byte-identical whatever the
number of worker processes, and a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm.auto import tqdm

from deepshadows._io import check_at_least_one, partial_path
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES
from deepshadows.parallel import InlineExecutor, map_ordered, open_executor
from deepshadows.simulate.artifacts import TYPE2_MIX
from deepshadows.simulate.cutout import CutoutSpec, SimulatedCutout, simulate_cutout, truth_columns
from deepshadows.simulate.randomize import _check_randomize_mode, randomization_for
from deepshadows.store.reader import StoreWriter
from deepshadows.store.splits import check_split_fractions, make_splits
from deepshadows.surveys import get_survey
from deepshadows.viewer import RESIZE_FILTERS

__all__ = ["SimConfig", "assign_classes", "make_dataset", "object_seed"]

_MAX_OBJECTS = 10_000_000
_CHUNK = 64  # rows per append: the most an interrupted run loses
_TASK_OBJECTS = 16  # objects per task of a worker process or a Dask worker
_T = TypeVar("_T")


@dataclass(frozen=True)
class SimConfig:
    """Configuration of a simulated data set (stored in the file's ``config`` attribute).

    Parameters
    ----------
    survey : str
        A survey of :data:`deepshadows.surveys.SURVEYS` (``"des"``, ``"hsc"``, ``"ls-dr9"``,
        ``"ls-dr10"``).
    n : int
        Number of objects.
    seed : int
        Seed of everything: classes, parameters, noise and splits.
    type1_fraction : float
        Fraction of type-1 artifacts (bright stars); the rest is split evenly between LSBGs and
        type-2 artifacts.
    type2_mix : dict
        Relative frequency of the type-2 subclasses.
    resize : str, optional
        Filter of the 256 -> 64 resize (``"nearest"``, ``"bicubic"`` or ``"lanczos"``) for every
        cutout. None (the default) draws it per cutout when ``randomize`` is on, and takes the
        survey's own filter (:attr:`deepshadows.surveys.Survey.resize`) when it is off.
    image_size : int
        Side of the stored cutouts.
    preselect : bool
        Require the measured features of LSBGs and type-2 artifacts to pass the catalogue
        preselection (re-drawing up to ``max_attempts`` times).
    max_attempts : int
        See ``preselect``.
    split_fractions : tuple of float
        Train, validation and test fractions.
    randomize : {"default", "none"}
        Domain randomisation of each cutout's depth, seeing, sky level, colour scales, field of
        view, resize filter and JPEG re-compression (:mod:`deepshadows.simulate.randomize`);
        ``"none"`` renders every cutout under the survey's own conditions.
    """

    survey: str = "des"
    n: int = 1000
    seed: int = 0
    type1_fraction: float = 0.0
    type2_mix: dict[str, float] = field(default_factory=lambda: dict(TYPE2_MIX))
    resize: str | None = None
    image_size: int = 64
    preselect: bool = True
    max_attempts: int = 25
    split_fractions: tuple[float, float, float] = (0.75, 0.125, 0.125)
    randomize: str = "default"

    def validate(self) -> SimConfig:
        """Check every value, raising :class:`InputError` that names the parameter."""
        get_survey(self.survey)
        if not isinstance(self.n, int | np.integer) or not 1 <= self.n <= _MAX_OBJECTS:
            raise InputError(f"--n: must be an integer between 1 and {_MAX_OBJECTS:,}, got {self.n}")
        if not 0 <= self.seed < 2**63:
            raise InputError(f"--seed: must be a non-negative integer, got {self.seed}")
        if not 0.0 <= self.type1_fraction <= 1.0:
            raise InputError(f"--type1-fraction: must lie in [0, 1], got {self.type1_fraction}")
        if self.resize is not None and self.resize not in RESIZE_FILTERS:
            raise InputError(
                f"--resize: unknown filter {self.resize!r}; choose from {sorted(RESIZE_FILTERS)}"
            )
        if not 8 <= self.image_size <= 256:
            raise InputError(f"--image-size: must lie in [8, 256], got {self.image_size}")
        if not 1 <= self.max_attempts <= 1000:
            raise InputError(f"--max-attempts: must lie in [1, 1000], got {self.max_attempts}")
        bad = sorted(set(self.type2_mix) - set(TYPE2_MIX))
        if bad or not self.type2_mix or min(self.type2_mix.values()) < 0 or sum(self.type2_mix.values()) <= 0:
            raise InputError(
                f"type2_mix: needs non-negative weights for subclasses {sorted(TYPE2_MIX)}, "
                f"got {self.type2_mix}"
            )
        _check_randomize_mode(self.randomize)
        check_split_fractions(self.split_fractions)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


def object_seed(seed: int, index: int) -> np.random.SeedSequence:
    """Return the seed of object ``index`` in a data set with seed ``seed``.

    Parameters
    ----------
    seed : int
        Seed of the data set (:attr:`SimConfig.seed`).
    index : int
        Row of the object in the store, from 0.

    Returns
    -------
    numpy.random.SeedSequence
        ``SeedSequence(seed, spawn_key=(index,))``: independent of every other object's seed and
        of how the work is split.
    """
    return np.random.SeedSequence(seed, spawn_key=(index,))


def assign_classes(cfg: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fix the kind and subclass of every object from the data-set seed.

    Parameters
    ----------
    cfg : SimConfig
        The data set: its ``n``, ``seed``, ``type1_fraction`` and ``type2_mix`` are used.

    Returns
    -------
    kinds : ndarray of shape (n,), str
        ``"lsbg"``, ``"type2"`` or ``"type1"``; exact counts (type 1: ``round(n f)``, the rest
        halved, LSBGs taking the odd one).
    subclasses : ndarray of shape (n,), str
        ``""`` for LSBGs, ``"E"`` for type 1, drawn from ``type2_mix`` for type 2.
    """
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(2**32,)))
    n_type1 = int(round(cfg.n * cfg.type1_fraction))
    n_type2 = (cfg.n - n_type1) // 2
    n_lsbg = cfg.n - n_type1 - n_type2
    kinds = np.array(["lsbg"] * n_lsbg + ["type2"] * n_type2 + ["type1"] * n_type1)
    kinds = kinds[rng.permutation(cfg.n)]
    names = sorted(cfg.type2_mix)
    weights = np.array([cfg.type2_mix[k] for k in names], dtype=float)
    drawn = rng.choice(names, size=cfg.n, p=weights / weights.sum())
    subclasses = np.where(kinds == "lsbg", "", np.where(kinds == "type1", "E", drawn))
    return kinds, subclasses


def _simulate_one(job: tuple[int, int, str, str, CutoutSpec]) -> SimulatedCutout:
    seed, index, kind, subclass, spec = job
    result = simulate_cutout(
        dataclasses.replace(spec, kind=kind, subclass=subclass), object_seed(seed, index)
    )
    # The native band images are not stored; leaving them out spares pickling 400 kB per object.
    return dataclasses.replace(result, bands=np.empty((0, 0, 0), dtype=np.float32))


def _batches(
    results: Iterator[SimulatedCutout],
    indices: Sequence[int],
    kinds: np.ndarray,
    subclasses: np.ndarray,
    cfg: SimConfig,
    chunk: int,
) -> Iterator[dict[str, np.ndarray]]:
    feature_dtype, truth_dtype = _dtypes()
    columns = truth_columns()
    buffer: list[tuple[int, SimulatedCutout]] = []
    for index, result in zip(indices, results, strict=True):
        buffer.append((index, result))
        if len(buffer) == chunk or index == indices[-1]:
            rows = [i for i, _ in buffer]
            features = np.zeros(len(buffer), dtype=feature_dtype)
            truth = np.zeros(len(buffer), dtype=truth_dtype)
            for row, (_, item) in enumerate(buffer):
                features[row] = tuple(item.features.astype(np.float32))
                truth[row] = tuple(item.truth.get(name, np.nan) for name in columns)
            yield {
                "images": np.stack([item.image for _, item in buffer]),
                "label": (kinds[rows] == "lsbg").astype(np.int8),
                "kind": kinds[rows],
                "subclass": subclasses[rows],
                "id": np.array([f"{cfg.survey}-{cfg.seed}-{i:07d}" for i in rows]),
                "features": features,
                "feature_flag": np.array([item.feature_flag for _, item in buffer], dtype=np.int16),
                "truth": truth,
            }
            buffer = []


def _dtypes() -> tuple[np.dtype, np.dtype]:
    feature_dtype = np.dtype([(name, np.float32) for name in FEATURE_NAMES])
    truth_dtype = np.dtype([(name, np.float64) for name in truth_columns()])
    return feature_dtype, truth_dtype


def make_dataset(
    out: str | os.PathLike[str],
    cfg: SimConfig,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
) -> Path:
    """Simulate ``cfg.n`` cutouts into the HDF5 store ``out``.

    Parameters
    ----------
    out : path-like
        Output store (``.h5``). It is written as ``<out>.partial`` and renamed when complete.
    cfg : SimConfig
        What to simulate.
    workers : int, optional
        Worker processes (default: all cores). The result does not depend on it.
    overwrite : bool, optional
        Replace an existing store.
    resume : bool, optional
        Continue an interrupted run from its ``.partial`` file (same configuration required).
    progress : bool, optional
        Show a progress bar.
    scheduler : str, optional
        Simulate on a Dask cluster instead of local processes: ``"local:N"`` or the address of
        a scheduler (see :mod:`deepshadows.parallel`); tasks of 16 objects each. The result is
        byte for byte the same as with local processes.

    Returns
    -------
    pathlib.Path
        The finished store.

    Raises
    ------
    deepshadows.errors.InputError
        For invalid parameters, an existing output without ``overwrite``, or a ``.partial`` that
        does not match ``cfg``.
    """
    cfg.validate()
    workers = os.cpu_count() or 1 if workers is None else int(workers)
    check_at_least_one(workers, "--workers")
    if resume and not partial_path(out).exists():
        resume = False
    kinds, subclasses = assign_classes(cfg)
    feature_dtype, truth_dtype = _dtypes()
    survey = get_survey(cfg.survey)
    randomization = randomization_for(survey, cfg.randomize, cfg.resize)
    attrs = {
        "config": cfg.to_dict(),
        "provenance": provenance(),
        "survey": survey.to_dict(),
        "randomization": randomization.to_dict() if randomization else None,
        "kind": "simulated",
    }
    spec = CutoutSpec(
        survey=cfg.survey,
        randomization=randomization,
        resize=cfg.resize or survey.resize,
        image_size=cfg.image_size,
        preselect=cfg.preselect,
        max_attempts=cfg.max_attempts,
        field_seed=cfg.seed,
    )
    with StoreWriter(
        out,
        n_total=cfg.n,
        feature_dtype=feature_dtype,
        truth_dtype=truth_dtype,
        attrs=attrs,
        image_shape=(cfg.image_size, cfg.image_size, 3),
        overwrite=overwrite,
        resume=resume,
    ) as writer:
        start = writer.n_written
        indices = list(range(start, cfg.n))
        jobs = ((cfg.seed, i, str(kinds[i]), str(subclasses[i]), spec) for i in indices)
        bar = tqdm(
            total=cfg.n,
            initial=start,
            desc=f"simulate {cfg.survey}",
            unit="cutout",
            disable=not progress,
            smoothing=0.05,
        )
        with _results(jobs, workers, scheduler) as results:
            if indices:
                chunk = int(np.clip(cfg.n // 20, 4, _CHUNK))
                for batch in _batches(iter(results), indices, kinds, subclasses, cfg, chunk):
                    writer.append(batch)
                    bar.update(len(batch["label"]))
        bar.close()
        split = make_splits(kinds, fractions=cfg.split_fractions, seed=cfg.seed)
        return writer.finalize(split, split_fractions=cfg.split_fractions, split_seed=cfg.seed)


def _simulate_many(jobs: list[tuple[int, int, str, str, CutoutSpec]]) -> list[SimulatedCutout]:
    """Simulate several objects in one task (a task costs more than one object to send)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [_simulate_one(job) for job in jobs]


def _chunked(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextlib.contextmanager
def _results(
    jobs: Iterator[tuple[int, int, str, str, CutoutSpec]], workers: int, scheduler: str | None
) -> Iterator[Iterator[SimulatedCutout]]:
    """Yield the simulated objects of ``jobs`` in order, from local processes or a Dask cluster."""
    with open_executor(scheduler, workers=workers) as executor:
        # In this process a task runs as it is submitted: one object a task and no look-ahead,
        # so every finished object reaches the store at once.
        size, ahead = (1, 1) if isinstance(executor, InlineExecutor) else (_TASK_OBJECTS, 64)
        tasks = map_ordered(executor, _simulate_many, _chunked(jobs, size), max_in_flight=ahead)
        yield (result for task in tasks for result in task)
