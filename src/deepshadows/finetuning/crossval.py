"""Stratified K-fold cross-validation of a fine-tuning recipe on a labelled sample.

A few hundred labels cannot spare a validation split for choosing epochs, and a single split of
them decides nothing. Every recipe choice is therefore made by cross-validation: the sample is
cut into ``k`` folds, stratified by class (and by any group such as the development set's
``selection``), the network is fine-tuned on ``k - 1`` folds and scores the held-out one, so that
every labelled cutout gets one out-of-fold probability per seed. The folds depend on the seed
alone. With ``unlabelled="held-out"`` the held-out fold's cutouts also serve, without their
labels, as the unlabelled sky of the semi-supervised loss (a user's own unlabelled cutouts
include the ones to be classified). Metrics are computed per seed, for the whole sample and per
group, and reported as mean and standard deviation over the seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from deepshadows.errors import InputError
from deepshadows.finetuning.loop import fine_tune
from deepshadows.finetuning.recipe import Recipe
from deepshadows.finetuning.streams import UnlabelledPool
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models.forward import logits_to_probabilities, predict_logits

__all__ = ["CrossValidation", "cross_validate", "stratified_folds", "subsample"]

#: Metrics summarised per group.
CV_METRICS = ("accuracy", "completeness", "purity", "auc")


def stratified_folds(
    labels: np.ndarray, k: int, seed: int, *, strata: np.ndarray | None = None
) -> np.ndarray:
    """Return the fold (0 .. k-1) of every object, stratified by class and ``strata``.

    Each stratum's members are shuffled with the seed and dealt to the folds in turn, starting
    where the previous stratum stopped, so fold sizes differ by at most one and every fold
    holds each stratum in proportion.

    Parameters
    ----------
    labels : ndarray of int
        Class of each object.
    k : int
        Number of folds (at least 2, at most the size of the smallest class).
    seed : int
        Seed of the shuffle: the same seed gives the same folds.
    strata : ndarray, optional
        A group of each object (e.g. the development set's ``selection``) kept in proportion too.

    Returns
    -------
    ndarray of int

    Raises
    ------
    deepshadows.errors.InputError
        If ``k`` is below 2 or exceeds the number of objects of a class.
    """
    labels = np.asarray(labels)
    smallest = int(np.unique(labels, return_counts=True)[1].min()) if labels.size else 0
    if not 2 <= int(k) <= smallest:
        raise InputError(f"--cv: needs 2 <= K <= {smallest} (the smallest class), got {k}")
    keys = (
        labels.astype(str)
        if strata is None
        else np.char.add(labels.astype(str), np.asarray(strata).astype(str))
    )
    rng = np.random.default_rng([int(seed), 31])
    fold = np.empty(labels.size, dtype=np.int64)
    start = 0
    for key in sorted(set(keys.tolist())):
        members = rng.permutation(np.flatnonzero(keys == key))
        fold[members] = (start + np.arange(members.size)) % k
        start = (start + members.size) % k
    return fold


def subsample(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Return about ``n`` positions drawn per class in proportion (all of them when ``n`` is None).

    Parameters
    ----------
    labels : ndarray of int
        Class of each object.
    n : int or None
        Objects wanted; every class keeps at least one.
    seed : int
        Seed of the draw.

    Returns
    -------
    ndarray of int
        Sorted positions.
    """
    positions = np.arange(labels.size)
    if n is None or n >= labels.size:
        return positions
    rng = np.random.default_rng([int(seed), 47])
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        want = max(1, int(round(n * members.size / labels.size)))
        keep.append(rng.choice(members, size=min(want, members.size), replace=False))
    return np.sort(np.concatenate(keep))


@dataclass
class CrossValidation:
    """Out-of-fold probabilities and their metrics.

    Parameters
    ----------
    labels : ndarray
        True classes.
    probabilities : ndarray of shape (n_seeds, N)
        Out-of-fold probability of being an LSBG, per seed.
    seeds : list of int
    k : int
    groups : dict
        Name of each group and its member mask (``all`` is every object).
    settings : dict
        The recipe and options, recorded.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    seeds: list[int]
    k: int
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def per_seed(self, threshold: float = 0.5) -> dict[str, list[dict[str, float]]]:
        """Metrics of every group, one mapping per seed."""
        out: dict[str, list[dict[str, float]]] = {}
        for name, mask in self.groups.items():
            y = self.labels[mask]
            out[name] = [
                {
                    m: float(v)
                    for m, v in binary_metrics(y, p[mask], threshold=threshold).items()
                    if m in CV_METRICS
                }
                for p in self.probabilities
            ]
        return out

    def summary(self, threshold: float = 0.5) -> dict[str, dict[str, Any]]:
        """Mean and standard deviation over the seeds of every metric of every group."""
        out: dict[str, dict[str, Any]] = {}
        for name, rows in self.per_seed(threshold).items():
            mask = self.groups[name]
            entry: dict[str, Any] = {"n": int(mask.sum()), "n_lsbg": int(self.labels[mask].sum())}
            for m in CV_METRICS:
                values = np.array([r[m] for r in rows], dtype=float)
                entry[m] = {
                    "mean": float(np.nanmean(values)) if np.isfinite(values).any() else float("nan"),
                    "sd": float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else 0.0,
                    "per_seed": values.tolist(),
                }
            out[name] = entry
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-serialisable (probabilities included)."""
        return {
            "k": self.k,
            "seeds": list(self.seeds),
            "settings": self.settings,
            "summary": self.summary(),
            "labels": self.labels.tolist(),
            "probabilities": self.probabilities.tolist(),
            "groups": {name: np.flatnonzero(mask).tolist() for name, mask in self.groups.items()},
        }


def _groups(n: int, groups: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    out = {"all": np.ones(n, dtype=bool)}
    for column, values in (groups or {}).items():
        values = np.asarray(values).astype(str)
        for value in sorted(set(values.tolist())):
            out[f"{column}={value}"] = values == value
    return out


def cross_validate(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    recipe: Recipe,
    *,
    k: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    groups: Mapping[str, np.ndarray] | None = None,
    strata: np.ndarray | None = None,
    n_labels: int | None = None,
    replay: tuple[np.ndarray, np.ndarray] | None = None,
    unlabelled: str | np.ndarray | UnlabelledPool | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    progress: Callable[[str], object] | None = None,
) -> CrossValidation:
    """Cross-validate a fine-tuning recipe: out-of-fold probabilities for every object and seed.

    Parameters
    ----------
    model : torch.nn.Module
        The trained network every fold starts from.
    images : ndarray of shape (N, H, W, C), uint8
        The labelled cutouts.
    labels : ndarray of shape (N,)
        1 = LSBG, 0 = artifact.
    recipe : Recipe
        The recipe scored.
    k : int, optional
        Folds.
    seeds : sequence of int, optional
        Seeds of the folds and the fine-tuning (fold seed ``s``, fine-tuning seed ``s``).
    groups : mapping of str to ndarray, optional
        Columns whose values define reported groups (e.g. ``selection``, ``layer``).
    strata : ndarray, optional
        A column kept in proportion in every fold (besides the class).
    n_labels : int, optional
        Fine-tune on this many of each training part (per class in proportion): a label-count
        curve on the same folds.
    replay : (images, labels), optional
        Simulated cutouts replayed in every fold.
    unlabelled : "held-out", ndarray or UnlabelledPool, optional
        Unlabelled cutouts: the held-out fold's own (``"held-out"``) or other data.
    device, precision : optional
        Where and how to train.
    progress : callable, optional
        Called with a line per fold.

    Returns
    -------
    CrossValidation
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.full((len(seeds), labels.size), np.nan)
    for i, seed in enumerate(seeds):
        fold = stratified_folds(labels, k, seed, strata=strata)
        for f in range(k):
            train = np.flatnonzero(fold != f)
            held = np.flatnonzero(fold == f)
            train = train[subsample(labels[train], n_labels, seed * 1000 + f)]
            extra = images[held] if isinstance(unlabelled, str) and unlabelled == "held-out" else unlabelled
            if isinstance(extra, str):
                raise InputError(f"unlabelled: 'held-out', an array or a pool, got {unlabelled!r}")
            tuned, _ = fine_tune(
                model,
                images[train],
                labels[train],
                recipe,
                seed=int(seed) * 100 + f,
                replay=replay,
                unlabelled=extra,
                device=device,
                precision=precision,
            )
            probs[i, held] = logits_to_probabilities(predict_logits(tuned, images[held], device=device))
            if progress is not None:
                acc = float(((probs[i, held] > 0.5) == labels[held]).mean())
                progress(f"seed {seed} fold {f + 1}/{k}: {train.size} labels, held-out accuracy {acc:.3f}")
    settings = {
        "recipe": recipe.to_dict(),
        "k": int(k),
        "n_labels": n_labels,
        "replay": replay is not None,
        "unlabelled": None
        if unlabelled is None
        else ("held-out" if isinstance(unlabelled, str) else "given"),
    }
    return CrossValidation(
        labels, probs, [int(s) for s in seeds], int(k), _groups(labels.size, groups), settings
    )
