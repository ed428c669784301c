"""``deepshadows transfer``: a model trained on one survey, before and after fine-tuning on another.

The output folder holds ``before/`` and ``after/`` (the evaluation of the target test sample as
``evaluate`` writes it: metrics with bootstrap intervals, ROC, confusion matrix),
``roc_before_after.png`` (Fig. 7c), the fine-tuned model (``model.safetensors`` and its
sidecar), ``finetune_history.csv``, ``transfer.json`` (sizes, rows, settings, both metric sets)
and, with a learning curve, ``learning_curve.png`` and ``learning_curve.csv``.

An ensemble folder is transferred as a whole (:mod:`deepshadows.transfer.ensemble`): every
member is fine-tuned on the same sample, the output folder is an ensemble folder
(``ensemble.json`` and ``members/<i>/``), both evaluations score the members' mean probability
and add the rejection table of their disagreement, and ``finetune_history.csv`` holds the
members' mean per epoch. It takes no learning curve.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import check_at_least_one, make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.data.labelled_sample import load_labelled_sample
from deepshadows.errors import InputError
from deepshadows.evaluation.report import evaluate_predictions, load_roc
from deepshadows.evaluation.report_writers import add_rejection
from deepshadows.finetuning import Recipe, default_recipe, get_recipe
from deepshadows.models import load_model, save_model
from deepshadows.models.ensemble import member_logits
from deepshadows.models.ensemble_combine import combine_member_logits
from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.store.reader import open_store
from deepshadows.transfer.curve import learning_curve, write_curve
from deepshadows.transfer.ensemble import check_output_layout, fine_tune_ensemble, mean_history, save_ensemble
from deepshadows.transfer.finetune import MODES, NOT_CARRIED, fine_tune, recipe_for, write_history
from deepshadows.transfer.sample_sizes import transfer_sizes
from deepshadows.viz.scores import plot_roc

__all__ = ["choose_samples", "run_transfer"]


def choose_samples(
    labels: np.ndarray, n_finetune: int, n_test: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw disjoint fine-tuning and test samples, each balanced between the classes as far as possible.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        Label per row (-1: unlabelled, never drawn).
    n_finetune, n_test : int
        Sample sizes.
    seed : int
        Seed of the draw.

    Returns
    -------
    finetune, test : ndarray of int
        Row positions, sorted.

    Raises
    ------
    deepshadows.errors.InputError
        If there are not enough labelled rows.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels[labels >= 0])
    pools = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    total = sum(p.size for p in pools.values())
    if n_finetune + n_test > total:
        raise InputError(f"--n-finetune {n_finetune} + --n-test {n_test} exceed the {total} labelled objects")
    taken = {c: 0 for c in classes}

    def draw(n: int) -> np.ndarray:
        out = []
        for i, c in enumerate(classes):
            want = n // len(classes) + (1 if i < n % len(classes) else 0)
            got = pools[c][taken[c] : taken[c] + want]
            taken[c] += got.size
            out.append(got)
        rows = np.concatenate(out)
        short = n - rows.size
        if short:  # a class ran out: fill from the others
            rest = np.concatenate([pools[c][taken[c] :] for c in classes])
            extra = rng.permutation(rest)[:short]
            for c in classes:
                taken[c] += int(np.isin(pools[c], extra).sum())
            rows = np.concatenate([rows, extra])
        return np.sort(rows)

    test = draw(int(n_test))
    finetune = draw(int(n_finetune))
    return finetune, test


def _evaluate(
    model: torch.nn.Module,
    members: int,
    images: np.ndarray,
    labels: np.ndarray,
    out: Path,
    device: torch.device,
    common: dict[str, Any],
) -> dict[str, Any]:
    """Score a model (an ensemble's mean probability, with its rejection table) on the test sample."""
    name = f"{out.name} fine-tuning"
    if not members:
        prob = logits_to_probabilities(predict_logits(model, images, device=device))
        return evaluate_predictions(labels, prob, out, name=name, **common)
    _, prob, uncertainty = combine_member_logits(member_logits(model, images, device=device))
    result = evaluate_predictions(labels, prob, out, name=name, **common)
    return add_rejection(result, out, labels, prob, uncertainty, threshold=0.5, members=members)


def run_transfer(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    n_finetune: int | None = None,
    n_test: int | None = None,
    mode: str = "whole",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    recipe: str | Recipe | None = None,
    recipe_changes: Mapping[str, Any] | None = None,
    curve: Sequence[int] = (),
    seed: int = 0,
    n_boot: int = 1000,
    device: str = "cpu",
    precision: str = "auto",
    labels: str | os.PathLike[str] | None = None,
    match_radius_arcsec: float | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Evaluate a trained model on a new survey's test sample, fine-tune it, evaluate again.

    Parameters
    ----------
    model_path : path-like
        Run folder, weight file or ensemble folder of the model trained on the first survey.
    store_path : path-like
        Labelled store of the new survey (its splits are ignored: the samples are drawn here).
    out_dir : path-like
        Output folder.
    n_finetune, n_test : int, optional
        Sizes of the fine-tuning and test samples (the paper: 320 and 960 of 1,280); by default
        those, or what fits the store (:func:`deepshadows.transfer.sample_sizes.transfer_sizes`).
    mode : {"whole", "head"}, optional
        Fine-tune the whole network (the paper) or the dense layers only.
    epochs, batch_size, lr : optional
        Fine-tuning schedule, replacing the recipe's (the paper: 30, 16, 0.005).
    recipe : str or Recipe, optional
        Fine-tuning recipe (:mod:`deepshadows.finetuning.recipe`), by name or as is; by
        default the architecture's (the paper's for Table 1, ``adamw`` for the compact ResNet).
    recipe_changes : mapping, optional
        Recipe fields to change (None values are ignored).
    curve : sequence of int, optional
        Fine-tuning sample sizes of a learning curve, run in both modes on the same test sample
        (not for an ensemble: that would cost its number of members times as much).
    seed : int, optional
        Seed of the samples, the fine-tuning (member ``i`` of an ensemble: ``seed + i``) and the
        bootstrap.
    n_boot : int, optional
        Bootstrap resamples.
    device, precision : str, optional
        Where and in which arithmetic to fine-tune.
    labels : path-like, optional
        A label table of the user's (CSV ``id,label``, ECSV, FITS; see
        :func:`deepshadows.data.labelled_sample.load_labelled_sample`): draw both samples from
        the objects it labels, with its labels, instead of the store's labels.
    match_radius_arcsec : float, optional
        Match ``labels`` to the store by ra/dec within this radius instead of by id.
    id_column, label_column : str, optional
        The id and label columns of ``labels`` (found by name by default).
    log : callable, optional
        Called with one line per step.

    Returns
    -------
    dict
        ``before`` and ``after`` (``metrics.json`` contents), ``curve`` (rows of the learning
        curve), ``out_dir``, ``settings``.

    Raises
    ------
    deepshadows.errors.InputError
        For a bad setting, a learning curve asked of an ensemble, an output folder holding the
        other kind of model (an ensemble or one network), or too few labelled objects.
    """
    emit = log if log is not None else (lambda _line: None)
    if mode not in MODES:
        raise InputError(f"--mode: choose from {', '.join(MODES)}, got {mode!r}")
    for name, value in (("--n-finetune", n_finetune), ("--n-test", n_test), ("--epochs", epochs)):
        if value is not None:
            check_at_least_one(value, name)
    dev = resolve_device(device)
    mixed = resolve_precision(precision, dev)
    model, meta = load_model(model_path, device=str(dev))
    members = int(meta["ensemble"]["members"]) if "ensemble" in meta else 0
    base = get_recipe(recipe) if isinstance(recipe, str) else recipe
    architecture = meta.get("architecture") or (meta.get("ensemble") or {}).get("architecture")
    base = (base or default_recipe(architecture)).replace(**dict(recipe_changes or {}))
    chosen = recipe_for(base, mode=mode, epochs=epochs, batch_size=batch_size, lr=lr)
    epochs, batch_size, lr = chosen.epochs, chosen.batch_size, chosen.lr
    if members and len(curve):
        raise InputError(
            f"--curve: {model_path} is an ensemble of {members}; the learning curve fine-tunes every size "
            f"in both modes, {members} times over for an ensemble: draw it with one member "
            "(members/<i>) and transfer the ensemble without --curve"
        )
    check_output_layout(out_dir, ensemble=bool(members))
    out = make_output_dir(out_dir)
    with contextlib.ExitStack() as stack:
        if labels is None:
            store = stack.enter_context(open_store(store_path))
            targets, read_images = store.labels.astype(np.int64), store.read_images
        else:
            sample = load_labelled_sample(
                store_path,
                labels,
                match_radius_arcsec=match_radius_arcsec,
                id_column=id_column,
                label_column=label_column,
            )
            targets = sample.labels.astype(np.int64)
            read_images = sample.images.__getitem__
            emit(f"{labels}: {len(targets)} labelled objects of {store_path}")
        n_finetune, n_test, note = transfer_sizes(int((targets >= 0).sum()), n_finetune, n_test)
        if note is not None:
            emit(f"{store_path}: {note}")
        sizes = [int(s) for s in curve]
        largest = max([int(n_finetune), *sizes])
        finetune_rows, test_rows = choose_samples(targets, largest, int(n_test), seed=seed)
        rng = np.random.default_rng([seed, 1])
        finetune_rows = rng.permutation(finetune_rows)  # nested subsets for the curve: first k rows
        test_images, test_labels = read_images(test_rows), targets[test_rows]
        tune_images, tune_labels = read_images(finetune_rows), targets[finetune_rows]
    names = [str(c) for c in (meta.get("class_names") or ["artifact", "lsbg"])][:2]
    common = {"n_boot": n_boot, "seed": seed, "class_names": names}

    emit(f"before fine-tuning: {len(test_rows)} test objects of {store_path}")
    before = _evaluate(model, members, test_images, test_labels, out / "before", dev, common)
    emit(
        f"fine-tuning ({mode}, recipe {chosen.name}) on {n_finetune} objects: "
        f"{epochs} epochs, batch {batch_size}, lr {lr}"
    )
    tune = fine_tune_ensemble if members else fine_tune
    tuned, history = tune(
        model,
        tune_images[: int(n_finetune)],
        tune_labels[: int(n_finetune)],
        mode=mode,
        recipe=chosen,
        seed=seed,
        precision=mixed,
        device=dev,
    )
    after = _evaluate(tuned, members, test_images, test_labels, out / "after", dev, common)
    settings = {
        "source_model": str(model_path),
        "target_store": str(store_path),
        "n_finetune": int(n_finetune),
        "n_test": int(n_test),
        "mode": mode,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "recipe": chosen.to_dict(),
        "seed": int(seed),
        "precision": mixed,
    }
    if members:
        summary = {"metrics": after.get("metrics"), "source_weights_sha256": meta.get("weights_sha256")}
        save_ensemble(
            tuned, model_path, out, entry="transfer", settings=settings, histories=history, summary=summary
        )
        history = mean_history(history)
    else:
        save_model(
            tuned,
            out / "model.safetensors",
            metadata={
                **{k: v for k, v in meta.items() if k not in NOT_CARRIED},
                "transfer": settings,
                "metrics": after.get("metrics"),
            },
        )
    write_history(history, out / "finetune_history.csv")
    (out / "calibration.json").unlink(missing_ok=True)  # of a model this run replaced
    plot_roc(
        {
            "before fine-tuning": load_roc(out / "before" / "roc.npz"),
            "after fine-tuning": load_roc(out / "after" / "roc.npz"),
        },
        out / "roc_before_after.png",
        title="Transfer: ROC before and after fine-tuning",
    )
    rows = learning_curve(
        model, tune_images, tune_labels, test_images, test_labels, sizes, settings, dev, mixed, n_boot, emit
    )
    if rows:
        write_curve(rows, out)
    emit(
        f"accuracy {before['metrics']['accuracy']:.3f} -> {after['metrics']['accuracy']:.3f}, "
        f"AUC {before['metrics']['auc']:.3f} -> {after['metrics']['auc']:.3f}"
    )
    result = {"before": before, "after": after, "curve": rows, "out_dir": str(out), "settings": settings}
    write_json_atomic(out / "transfer.json", {**result, "provenance": provenance()})
    return result
