"""``deepshadows active-learning-curve``: how many labels the labelling loop saves, simulated.

A simulated labeller (the oracle: the store's true labels) labels a pool of objects in rounds. In
each round the model is fine-tuned from the starting model on all labels so far (the
architecture's recipe, :mod:`deepshadows.finetuning.recipe`) and evaluated on a fixed test part.
*Uncertainty* acquisition labels next the pool objects that the current model is least sure of
(BALD or entropy over MC-dropout passes, spread in feature space; see
:mod:`deepshadows.labelling.acquisition`); *random* acquisition draws them at random. Both start
from the same model and use the same sizes, test part and seeds.

Outputs: ``curve.csv`` (one row per seed, strategy and size), ``summary.json`` (mean and spread
per size, the labels that uncertainty acquisition needs to reach the accuracy of random
acquisition at the largest size, settings, provenance) and ``active_learning_curve.png``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import atomic_path, make_output_dir, save_png, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.finetuning import Recipe, default_recipe, get_recipe
from deepshadows.labelling.acquisition import METHODS, acquisition_scores, diverse_order, embed
from deepshadows.labelling.acquisition import stochastic_probabilities as mc_probabilities
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models import load_model
from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.store.reader import open_store
from deepshadows.transfer import choose_samples, fine_tune
from deepshadows.transfer.finetune import recipe_for
from deepshadows.transfer.sample_sizes import curve_sizes

__all__ = ["ORACLES", "STRATEGIES", "active_learning_curve", "labels_to_reach"]

#: Sources of the simulated labels.
ORACLES = ("label",)
#: Acquisition strategies compared.
STRATEGIES = ("uncertainty", "random")


def labels_to_reach(sizes: Sequence[int], accuracy: Sequence[float], target: float) -> float | None:
    """Return the fewest labels at which a curve reaches ``target``, interpolated between sizes.

    Parameters
    ----------
    sizes : sequence of int
        Numbers of labels, increasing.
    accuracy : sequence of float
        Accuracy at each size.
    target : float
        Accuracy to reach.

    Returns
    -------
    float or None
        Labels needed (linear interpolation between the two sizes around the crossing), or
        None when the curve never reaches the target.
    """
    for k, (n, a) in enumerate(zip(sizes, accuracy, strict=True)):
        if a >= target:
            if k == 0:
                return float(n)
            n0, a0 = sizes[k - 1], accuracy[k - 1]
            return float(n0 + (n - n0) * (target - a0) / (a - a0))
    return None


def _evaluate(
    model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, dev: torch.device
) -> dict[str, float]:
    p = logits_to_probabilities(predict_logits(model, images, device=dev))
    m = binary_metrics(labels, p[:, 1] if p.ndim == 2 else p)
    return {"accuracy": float(m["accuracy"]), "auc": float(m["auc"])}


def _run_strategy(
    strategy: str,
    start: torch.nn.Module,
    pool_images: np.ndarray,
    pool_labels: np.ndarray,
    test: tuple[np.ndarray, np.ndarray],
    sizes: Sequence[int],
    seed: int,
    cfg: dict[str, Any],
    dev: torch.device,
    emit: Callable[[str], object],
) -> list[dict[str, Any]]:
    rng = np.random.default_rng([seed, 7])
    taken = np.empty(0, dtype=np.int64)
    model = start
    rows = [{"seed": seed, "strategy": strategy, "n_labels": 0, **_evaluate(start, *test, dev)}]
    for size in sizes:
        need = int(size) - taken.size
        left = np.setdiff1d(np.arange(len(pool_labels)), taken)
        if strategy == "random":
            pick = rng.choice(left, need, replace=False)
        else:
            cand = rng.choice(left, min(cfg["candidates"], left.size), replace=False)
            samples = mc_probabilities(
                model, pool_images[cand], n_samples=cfg["mc_samples"], seed=seed, device=dev
            )
            scores = acquisition_scores(samples, cfg["acquisition"], seed=seed)
            order = diverse_order(
                scores, embed(model, pool_images[cand], device=dev), n_first=need, seed=seed
            )
            pick = cand[order[:need]]
        taken = np.concatenate([taken, pick])
        model, _ = fine_tune(
            start,
            pool_images[taken],
            pool_labels[taken],
            recipe=Recipe.from_dict(cfg["recipe"]),
            seed=seed,
            precision=cfg["precision"],
            device=dev,
        )
        row = {"seed": seed, "strategy": strategy, "n_labels": int(size), **_evaluate(model, *test, dev)}
        row["n_lsbg"] = int(pool_labels[taken].sum())
        rows.append(row)
        emit(f"seed {seed}, {strategy}: {size} labels, accuracy {row['accuracy']:.3f}, AUC {row['auc']:.3f}")
    return rows


def _summarise(rows: list[dict[str, Any]], sizes: list[int], seeds: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for strategy in STRATEGIES:
        per = {}
        for n in [0, *sizes]:
            part = [r for r in rows if r["strategy"] == strategy and r["n_labels"] == n]
            per[n] = {
                m: {"mean": float(np.mean([r[m] for r in part])), "std": float(np.std([r[m] for r in part]))}
                for m in ("accuracy", "auc")
            }
        table[strategy] = per
    curve = {
        s: {
            d: [r["accuracy"] for r in rows if r["strategy"] == s and r["seed"] == d and r["n_labels"] > 0]
            for d in seeds
        }
        for s in STRATEGIES
    }
    per_seed = []
    for d in seeds:
        target = curve["random"][d][-1]
        per_seed.append(labels_to_reach(sizes, curve["uncertainty"][d], target))
    reached = [x for x in per_seed if x is not None]
    target_mean = table["random"][sizes[-1]]["accuracy"]["mean"]
    mean_curve = [table["uncertainty"][n]["accuracy"]["mean"] for n in sizes]
    needed = labels_to_reach(sizes, mean_curve, target_mean)
    return {
        "by_size": table,
        "target": {"n_random": sizes[-1], "accuracy": target_mean},
        "labels_needed_mean_curve": needed,
        "labels_needed_per_seed": per_seed,
        "fraction_per_seed_mean": float(np.mean(reached) / sizes[-1]) if len(reached) == len(seeds) else None,
        "fraction_per_seed_std": float(np.std(reached) / sizes[-1]) if len(reached) == len(seeds) else None,
    }


def _figure(summary: dict[str, Any], path: os.PathLike[str], title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    for k, metric in enumerate(("accuracy", "auc")):
        ax = fig.add_subplot(1, 2, k + 1)
        for strategy, style in zip(STRATEGIES, ("-o", "--s"), strict=True):
            per = summary["by_size"][strategy]
            n = np.array(sorted(per))
            mean = np.array([per[x][metric]["mean"] for x in n])
            std = np.array([per[x][metric]["std"] for x in n])
            ax.plot(n, mean, style, label=f"{strategy} acquisition")
            ax.fill_between(n, mean - std, mean + std, alpha=0.2)
        if metric == "accuracy":
            ax.axhline(
                summary["target"]["accuracy"],
                color="grey",
                lw=0.8,
                ls=":",
                label=f"random, {summary['target']['n_random']} labels",
            )
        ax.set_xlabel("labels")
        ax.set_ylabel("test accuracy" if metric == "accuracy" else "test AUC")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save_png(fig, path)


def active_learning_curve(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    oracle: str = "label",
    sizes: Sequence[int] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    acquisition: str = "bald",
    n_test: int | None = None,
    pool: int | None = None,
    candidates: int = 1000,
    mc_samples: int = 10,
    head_only: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    recipe: str | None = None,
    device: str = "cpu",
    precision: str = "auto",
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Simulate the labelling loop: test metrics against labels, uncertainty versus random.

    Parameters
    ----------
    model_path : path-like
        Starting model (run folder, weight file or released name such as ``des``).
    store_path : path-like
        Labelled store; its labels play the labeller.
    out_dir : path-like
        Output folder.
    oracle : {"label"}, optional
        Source of the simulated labels: the store's ``label`` column.
    sizes : sequence of int, optional
        Numbers of labels after each round, increasing; by default 20, 40, 80, 160 and 320, or
        what fits the store (:func:`deepshadows.transfer.sample_sizes.curve_sizes`).
    seeds : sequence of int, optional
        Seeds (of the pool, the acquisition and the fine-tuning); the test part is the same
        for all.
    acquisition : {"bald", "entropy"}, optional
        Uncertainty acquisition function.
    n_test : int, optional
        Size of the fixed test part, drawn balanced with seed 0; by default 960, or a quarter of a
        store too small for it.
    pool : int, optional
        Objects in each seed's labelling pool (default: all labelled objects outside the test).
    candidates : int, optional
        Pool objects scored per round (a random subset, to bound the MC-dropout passes).
    mc_samples : int, optional
        MC-dropout passes per candidate.
    head_only : bool, optional
        Fine-tune the dense layers only.
    epochs, batch_size, lr : optional
        Replace the recipe's schedule.
    recipe : {"paper", "adamw"}, optional
        Fine-tuning recipe; by default the architecture's (:mod:`deepshadows.finetuning.recipe`).
    device, precision : str, optional
        Where and in which arithmetic to run.
    log : callable, optional
        Called with one line per round.

    Returns
    -------
    dict
        ``rows`` (one per seed, strategy and size), ``summary`` and ``out_dir``.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown oracle or acquisition, sizes that do not increase, a store with too few
        labelled objects, or an ensemble.
    """
    emit = log if log is not None else (lambda _line: None)
    if oracle not in ORACLES:
        raise InputError(f"--oracle: choose from {', '.join(ORACLES)}, got {oracle!r}")
    if acquisition not in METHODS or acquisition == "random":
        raise InputError(f"--acquisition: choose from bald, entropy, got {acquisition!r}")
    if sizes is not None:
        given = [int(s) for s in sizes]
        if not given or given[0] < 2 or np.any(np.diff(given) <= 0):
            raise InputError(f"--sizes: need increasing sizes of at least 2, got {given}")
    seed_list = [int(s) for s in seeds]
    if not seed_list:
        raise InputError("--seeds: need at least one seed")
    dev = resolve_device(device)
    mixed = resolve_precision(precision, dev)
    start, meta = load_model(model_path, device=str(dev))
    if "ensemble" in meta:
        raise InputError(f"{model_path}: is an ensemble; the curve fine-tunes one network (members/<i>)")
    with open_store(store_path) as store:
        labels = store.labels.astype(np.int64)
        size_list, n_test, note = curve_sizes(int((labels >= 0).sum()), sizes, n_test)
        if note is not None:
            emit(f"{store_path}: {note}")
        _, test_rows = choose_samples(labels, 0, int(n_test), seed=0)
        rest = np.setdiff1d(np.flatnonzero(labels >= 0), test_rows)
        images = store.read_images(np.sort(np.concatenate([test_rows, rest])))
        position = {r: i for i, r in enumerate(np.sort(np.concatenate([test_rows, rest])))}
    test = (images[[position[r] for r in test_rows]], labels[test_rows])
    if len(rest) < size_list[-1]:
        raise InputError(
            f"{store_path}: {len(rest)} labelled objects outside the test part, "
            f"fewer than the largest size {size_list[-1]}"
        )
    base = get_recipe(recipe) if recipe is not None else default_recipe(meta.get("architecture"))
    tuning = recipe_for(
        base, mode="head" if head_only else "whole", epochs=epochs, batch_size=batch_size, lr=lr
    )
    cfg = {
        "acquisition": acquisition,
        "candidates": int(candidates),
        "mc_samples": int(mc_samples),
        "mode": "head" if head_only else "whole",
        "recipe": tuning.to_dict(),
        "epochs": tuning.epochs,
        "batch_size": tuning.batch_size,
        "lr": tuning.lr,
        "precision": mixed,
    }
    rows: list[dict[str, Any]] = []
    for seed in seed_list:
        chosen = np.random.default_rng([seed, 3]).permutation(rest)[: pool or len(rest)]
        pool_images = images[[position[r] for r in chosen]]
        for strategy in STRATEGIES:
            rows += _run_strategy(
                strategy, start, pool_images, labels[chosen], test, size_list, seed, cfg, dev, emit
            )
    summary = _summarise(rows, size_list, seed_list)
    out = make_output_dir(out_dir)
    with atomic_path(out / "curve.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh,
            fieldnames=["seed", "strategy", "n_labels", "n_lsbg", "accuracy", "auc"],
            lineterminator="\n",
            restval="",
        )
        writer.writeheader()
        writer.writerows(rows)
    _figure(
        summary,
        out / "active_learning_curve.png",
        f"Labelling loop, simulated: {acquisition} vs random acquisition ({len(seed_list)} seeds, mean ± sd)",
    )
    settings = {
        "model": str(model_path),
        "store": str(store_path),
        "oracle": oracle,
        "sizes": size_list,
        "seeds": seed_list,
        "n_test": int(n_test),
        "pool": pool,
        **cfg,
    }
    write_json_atomic(
        out / "summary.json", {"settings": settings, "summary": summary, "provenance": provenance()}
    )
    return {"rows": rows, "summary": summary, "out_dir": str(out)}
