"""Evaluate a trained model on a split of a store (``deepshadows evaluate``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.errors import InputError
from deepshadows.evaluation.labelled import labelled_logits
from deepshadows.evaluation.report import evaluate_predictions
from deepshadows.models.forward import FORWARD_BATCH
from deepshadows.store.reader import open_store

__all__ = [
    "evaluate_run",
    "logits_of_rows",
    "logits_of_split",
    "predict_rows",
    "predict_split",
]

_READ_ROWS = 2048


def logits_of_rows(
    model: Any,
    store_path: str | os.PathLike[str],
    rows: np.ndarray,
    *,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> np.ndarray:
    """Logits of the given rows of a store, read in blocks.

    The cutouts are read 2048 rows at a time and classified with
    :func:`deepshadows.models.forward.predict_logits` in float32, so memory does not grow with
    ``rows``.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier already on ``device`` (as returned by :func:`deepshadows.models.load_model`).
    store_path : path-like
        Store (HDF5) holding the cutouts.
    rows : array-like of int
        Store rows to classify, in any order.
    device : str, optional
        Device the cutouts are moved to (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    ndarray of shape (n,) or (n, K), float32
        Logits of a binary model or of each class, in the order of ``rows``.
    """
    from deepshadows.models.forward import predict_logits

    rows = np.asarray(rows, dtype=np.int64)
    with open_store(store_path) as store:
        logits = [
            predict_logits(
                model,
                store.read_images(rows[start : start + _READ_ROWS]),
                device=device,
                batch_size=batch_size,
            )
            for start in range(0, len(rows), _READ_ROWS)
        ]
    return np.concatenate(logits) if logits else np.empty((0,), dtype=np.float32)


def logits_of_split(
    model: Any,
    store_path: str | os.PathLike[str],
    *,
    split: str,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of every object of one split, read in blocks (see :func:`logits_of_rows`).

    Parameters
    ----------
    model, store_path, device, batch_size
        As for :func:`logits_of_rows`.
    split : str
        ``"train"``, ``"val"`` or ``"test"``.

    Returns
    -------
    indices : ndarray of shape (n,)
        Store rows of the split.
    logits : ndarray of shape (n,) or (n, K)
        Logits of a binary model or of each class.
    """
    indices = _split_rows(store_path, split)
    return indices, logits_of_rows(model, store_path, indices, device=device, batch_size=batch_size)


def predict_rows(
    model: Any,
    store_path: str | os.PathLike[str],
    rows: np.ndarray,
    *,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> np.ndarray:
    """Class probabilities of the given rows of a store: :func:`logits_of_rows`, turned into probabilities.

    Parameters
    ----------
    model, store_path, rows, device, batch_size
        As for :func:`logits_of_rows`.

    Returns
    -------
    ndarray of shape (n,) or (n, K)
        Probability of being an LSBG (binary models) or of each class, in the order of ``rows``.
    """
    from deepshadows.models.forward import logits_to_probabilities

    return logits_to_probabilities(
        logits_of_rows(model, store_path, rows, device=device, batch_size=batch_size)
    )


def predict_split(
    model: Any,
    store_path: str | os.PathLike[str],
    *,
    split: str,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of every object of one split: :func:`logits_of_split`, turned into probabilities.

    Parameters
    ----------
    model, store_path, split, device, batch_size
        As for :func:`logits_of_split`.

    Returns
    -------
    indices : ndarray of shape (n,)
        Store rows of the split.
    prob : ndarray of shape (n,) or (n, K)
        Probability of being an LSBG (binary models) or of each class.
    """
    from deepshadows.models.forward import logits_to_probabilities

    indices, logits = logits_of_split(model, store_path, split=split, device=device, batch_size=batch_size)
    return indices, logits_to_probabilities(logits)


def evaluate_run(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
    calibrated: bool = True,
    target_purity: float | None = None,
    target_completeness: float | None = None,
    by: str | None = None,
    labels: str | os.PathLike[str] | None = None,
    match_radius_arcsec: float | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
) -> dict[str, Any]:
    """Score a trained model on a split: metrics with bootstrap intervals, ROC, confusion matrix.

    A model with a calibration (:mod:`deepshadows.calibration`) is scored on its calibrated
    probabilities unless ``calibrated`` is false; the reliability diagram then shows its own
    probabilities beside them. A target purity or completeness sets the decision threshold
    from the validation curve stored with the calibration, and the completeness-purity figure
    marks what that curve promised.

    Parameters
    ----------
    model_path : path-like
        A run folder, its ``model.safetensors`` or an ensemble folder.
    store_path : path-like
        Store holding the split.
    split : str, optional
        ``"test"`` (default), ``"val"`` or ``"train"``.
    out_dir : path-like, optional
        Output folder (default: ``evaluation_<split>`` in the run folder).
    n_boot : int, optional
        Bootstrap resamples for the 95 % intervals and the ROC band.
    seed : int, optional
        Seed of the resampling.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int, optional
        Images per forward pass.
    calibrated : bool, optional
        Score the calibrated probabilities of a model that has a calibration.
    target_purity, target_completeness : float, optional
        At most one: choose the decision threshold for this validation purity or completeness
        (see :func:`deepshadows.calibration.choose_operating_point`).
    by : str, optional
        On a simulated store, also score the model in bins of a truth parameter (``mu_eff``,
        ``r_eff``, ``sersic_n``, ``q`` or ``color``) into ``by_<axis>.csv`` and the
        ``by_truth`` entry of ``metrics.json`` (:mod:`deepshadows.evaluation.truth_bins`).
    labels : path-like, optional
        A label table of the user's (CSV ``id,label``, ECSV, FITS or the labelling page's file;
        see :func:`deepshadows.data.label_tables.load_label_table`): score the objects it
        labels, with its labels, whatever the store's labels and splits (binary models; an
        ensemble's rejection table is not drawn then). The output folder defaults to
        ``evaluation_labelled``.
    match_radius_arcsec : float, optional
        Match ``labels`` to the store by ra/dec within this radius instead of by id.
    id_column, label_column : str, optional
        The id and label columns of ``labels`` (found by name by default).

    Returns
    -------
    dict
        What :func:`deepshadows.evaluation.evaluate_predictions` wrote to ``metrics.json``,
        plus ``out_dir``. Its ``extra`` records ``probabilities`` (``calibrated (<method>)`` or
        ``uncalibrated``). For an ensemble folder also ``uncertainty_rejection``: the accuracy
        after rejecting the fractions 0, 0.05, 0.1, 0.2, 0.3 and 0.5 of the objects on which
        the members disagree most (:func:`deepshadows.evaluation.rejection_table`), written
        to ``rejection.csv``, ``rejection.png`` and ``metrics.json`` too.

    Raises
    ------
    deepshadows.errors.InputError
        If the model or store is invalid, or a target is given for a model of several classes,
        without a stored curve, or cannot be met.
    """
    from deepshadows.calibration import LABELLED_SPLIT, find_calibration, model_operating_point
    from deepshadows.models import load_model
    from deepshadows.models.forward import logits_to_probabilities
    from deepshadows.released import resolve_model_path
    from deepshadows.training import store_targets

    if by is not None:
        from deepshadows.evaluation.truth_bins import truth_axis

        truth_axis(by)  # an unknown axis fails before the model runs
    model, meta = load_model(model_path, device=device)
    num_classes = int(meta.get("model_kwargs", {}).get("num_classes", 1))
    targeted = target_purity is not None or target_completeness is not None
    found = calibrated or targeted  # an uncalibrated evaluation does not read it
    calibration = find_calibration(resolve_model_path(model_path), meta) if found else None
    use_map = calibrated and calibration is not None and calibration.changes_probabilities
    point = None
    if targeted:
        point = model_operating_point(
            model_path,
            calibration,
            n_classes=num_classes,
            target_purity=target_purity,
            target_completeness=target_completeness,
            calibrated=use_map,
        )
    uncertainty = None
    if labels is not None:
        if num_classes != 1:
            raise InputError(f"--labels: {labels} gives two classes, but {model_path} has {num_classes}")
        if by is not None:
            raise InputError("--by scores a simulated store's splits; it does not go with --labels")
        split = LABELLED_SPLIT
        logits, y_true, where = labelled_logits(
            model, meta, store_path, labels, match_radius_arcsec, id_column, label_column, device, batch_size
        )
        indices = np.arange(len(y_true))
    elif "ensemble" in meta:
        indices, logits, uncertainty = _ensemble_logits_of_split(
            model, store_path, split=split, device=device, batch_size=batch_size
        )
    else:
        indices, logits = logits_of_split(
            model, store_path, split=split, device=device, batch_size=batch_size
        )
    raw = logits_to_probabilities(logits)
    prob = calibration.probabilities(logits) if use_map else raw
    if labels is None:
        with open_store(store_path) as store:
            y_true = store_targets(store, num_classes)[indices]
    run_dir = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
    out = Path(out_dir) if out_dir is not None else run_dir / f"evaluation_{split}"
    names = meta.get("class_names") or ["artifact", "lsbg"]
    if num_classes == 1:
        names = [names[0], names[1]]
    kind = "uncalibrated"
    if use_map:
        kind = f"calibrated ({calibration.probability_map.describe()})"
    extra = {"model": str(model_path), "store": str(store_path), "split": split, "probabilities": kind}
    if labels is not None:
        extra["labelled"] = where
    if use_map and calibration.fitted_on.get("split") == split:
        extra["note"] = f"the calibration was fitted on this {split} split: its ECE here is optimistic"
    threshold = point.threshold if point is not None else float(meta.get("threshold") or 0.5)
    result = evaluate_predictions(
        y_true,
        prob,
        out,
        name=str(meta.get("architecture", "model")),
        n_boot=n_boot,
        seed=seed,
        threshold=threshold,
        class_names=names,
        extra=extra,
        compare_probabilities={"uncalibrated": raw} if use_map else None,
        probability_label="calibrated" if use_map else "uncalibrated",
        operating_point=None if point is None else point.to_dict(),
    )
    if uncertainty is not None:
        from deepshadows.evaluation.report_writers import add_rejection

        members = int(meta["ensemble"]["members"])
        result = add_rejection(result, out, y_true, prob, uncertainty, threshold=threshold, members=members)
    if by is not None:
        from deepshadows.evaluation.truth_bins import add_truth_bins

        result = add_truth_bins(result, out, store_path, indices, y_true, prob, by=by, threshold=threshold)
    return result | {"out_dir": str(out)}


def _ensemble_logits_of_split(
    model: Any, store_path: str | os.PathLike[str], *, split: str, device: str, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, logits (of the mean probability) and uncertainty of an ensemble on one split."""
    from deepshadows.models.ensemble_combine import combine_member_logits

    indices = _split_rows(store_path, split)
    members = [
        logits_of_rows(member, store_path, indices, device=device, batch_size=batch_size)
        for member in model.members
    ]
    logits, _, uncertainty = combine_member_logits(np.stack(members, axis=1))
    return indices, logits, uncertainty


def _split_rows(store_path: str | os.PathLike[str], split: str) -> np.ndarray:
    """Store rows of one split."""
    with open_store(store_path) as store:
        return store.indices(split)
