"""``deepshadows calibrate``: fit (or fit again) the calibration of a trained model.

On a split of a store, as at the end of training, or on objects the user labelled: the labelled
rows of a ``.npz`` of cutouts, or the rows of a store or ``.npz`` that a label table names
(:func:`deepshadows.data.labelled_sample.load_labelled_sample`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.calibration.operating import LABELLED_SPLIT
from deepshadows.calibration.record import fit_calibration
from deepshadows.calibration.storage import calibration_path, write_calibration
from deepshadows.data.npz import NPZ_SUFFIX
from deepshadows.errors import InputError
from deepshadows.evaluation.labelled import labelled_logits
from deepshadows.models.forward import FORWARD_BATCH

__all__ = ["calibrate_run"]


def _local_model(model_path: str | os.PathLike[str]) -> Path:
    """Return the model as a path that may be written beside; released names are refused."""
    from deepshadows.released import RELEASED_MODELS

    path = Path(model_path)
    if not path.exists() and str(model_path).lower() in RELEASED_MODELS:
        raise InputError(
            f"MODEL: {model_path!r} is a released model, which is read-only; copy its .safetensors and "
            ".json into a folder and calibrate that weight file"
        )
    if not path.exists():
        raise InputError(f"{path}: model not found (give a run folder or a .safetensors weight file)")
    if path.is_file() and path.suffix != ".safetensors":
        raise InputError(f"{path}: calibrate takes a run folder or a .safetensors weight file")
    return path


def calibrate_run(
    model_path: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | None = None,
    match_radius_arcsec: float | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    split: str | None = None,
    method: str = "temperature",
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> dict[str, Any]:
    """Fit the calibration of a trained model on held-out labelled objects; write it beside the model.

    The model's float32 logits on the objects are computed, the probability map is fitted to
    them (:func:`~deepshadows.calibration.fit_calibration`) and the completeness and purity
    of the decision thresholds are measured there; for a sample of at most
    :data:`~deepshadows.calibration.MAX_SAMPLE_OBJECTS` objects their logits and labels are
    kept too, so that operating points chosen later carry bootstrap intervals. Everything is
    written, replacing an earlier calibration, to
    :func:`~deepshadows.calibration.calibration_path` of the model (``calibration.json`` in a
    run folder).

    The objects are

    * with ``labels``: the objects of ``data_path`` (a store or a ``.npz``) that the label
      table names, with its labels, matched by id or, with ``match_radius_arcsec``, by
      position;
    * for a ``.npz`` without ``labels``: its labelled rows;
    * for a store without ``labels``: the ``split`` (``"val"`` by default).

    Parameters
    ----------
    model_path : path-like
        A run folder or a ``.safetensors`` weight file (not a released model's name).
    data_path : path-like
        Store, or ``.npz`` of cutouts (``images`` and ``label``, as the real development set).
    labels : path-like, optional
        Label table (CSV, ECSV, FITS or the labelling page's file) naming the objects to fit on.
    match_radius_arcsec : float, optional
        With ``labels``: match its ``ra``/``dec`` to the data's within this many arcsec.
    id_column, label_column : str, optional
        With ``labels``: its id and label columns (found among the usual names by default).
    split : str, optional
        Split of a store to fit on, without ``labels``: ``"val"`` (default) is held out from
        training and from the test set.
    method : {"temperature", "platt", "isotonic", "none"}, optional
        Calibration method (``none`` stores only the operating curves). ``platt`` moves the
        decision at 0.5 and suits a few dozen to a few hundred labels from a new sky.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    dict
        ``calibration`` (:class:`~deepshadows.calibration.Calibration`), ``path`` (the written
        file), ``summary`` (one line) and ``notes`` (warnings about the choice of objects).

    Raises
    ------
    deepshadows.errors.InputError
        If the model or data is invalid, the model is a released one, the objects are none,
        unlabelled or of one class, ``split`` is given with labelled objects or the label
        options without ``labels``, the cutouts have another size than the model's, or the
        method does not fit the model.
    """
    from deepshadows.models import load_model
    from deepshadows.models.ensemble_layout import is_ensemble
    from deepshadows.models.io import _weights_file

    labelled = labels is not None or str(data_path).lower().endswith(NPZ_SUFFIX)
    if labels is None:
        given = {
            "--match-radius": match_radius_arcsec,
            "--id-column": id_column,
            "--label-column": label_column,
        }
        for option, value in given.items():
            if value is not None:
                raise InputError(f"{option}: applies to a label table; give --labels too")
    if labelled and split is not None:
        raise InputError(
            f"--split {split}: applies to a store without --labels; {data_path} is calibrated on "
            "the objects it labels (or --labels names)"
        )
    path = _local_model(model_path)
    weights = path if is_ensemble(path) else _weights_file(path)
    model, meta = load_model(weights, device=device)
    num_classes = int((meta.get("model_kwargs") or {}).get("num_classes", 1))
    if labelled:
        if num_classes > 1:
            raise InputError(
                f"{data_path}: labelled objects are LSBGs or artifacts, but {model_path} has "
                f"{num_classes} classes; calibrate it on a store's split"
            )
        logits, targets, where = labelled_logits(
            model, meta, data_path, labels, match_radius_arcsec, id_column, label_column, device, batch_size
        )
        fit_split = LABELLED_SPLIT
    else:
        fit_split = split or "val"
        logits, targets = _split_logits(model, data_path, fit_split, num_classes, device, batch_size)
        where = {}
    store = _store_record(data_path)
    calibration = fit_calibration(
        logits,
        np.asarray(targets, dtype=np.int64),
        method=method,
        split=fit_split,
        store=store,
        data=where or None,
        weights_sha256=meta.get("weights_sha256"),
    )
    notes = _notes(data_path, fit_split, where, store, meta)
    pmap = calibration.probability_map
    if pmap.method == "platt" and pmap.slope <= 0:
        notes.append(
            f"note: Platt slope a={pmap.slope:.3g} is not positive: on these objects the model does not "
            "rank LSBGs above artifacts, and the calibrated probabilities keep no useful order"
        )
    out = write_calibration(calibration, calibration_path(weights))
    return {"calibration": calibration, "path": out, "summary": calibration.describe(), "notes": notes}


def _split_logits(
    model: Any, store_path: str | os.PathLike[str], split: str, num_classes: int, device: str, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the logits and targets of a store's split, refusing unlabelled rows."""
    from deepshadows.evaluation.run import logits_of_split
    from deepshadows.store.reader import open_store
    from deepshadows.training import store_targets

    indices, logits = logits_of_split(model, store_path, split=split, device=device, batch_size=batch_size)
    with open_store(store_path) as store:
        targets = store_targets(store, num_classes)[indices]
    if (targets < 0).any():
        raise InputError(
            f"{store_path}: {int((targets < 0).sum())} object(s) of split {split!r} have no label; "
            "a calibration needs labelled objects (or give --labels)"
        )
    return logits, targets


def _store_record(data_path: str | os.PathLike[str]) -> dict[str, str] | None:
    """Return the ``path`` and ``fingerprint`` of a store; None for a ``.npz``."""
    from deepshadows.models import fingerprint_store

    if str(data_path).lower().endswith(NPZ_SUFFIX):
        return None
    return {"path": str(data_path), "fingerprint": fingerprint_store(data_path)}


def _notes(
    data_path: str | os.PathLike[str],
    split: str,
    where: dict[str, Any],
    store: dict[str, str] | None,
    meta: dict[str, Any],
) -> list[str]:
    """Warn when the objects were used to train or test the model (its training store's splits)."""
    trained_on = (meta.get("store") or {}).get("fingerprint")
    if store is None or trained_on != store["fingerprint"]:
        return []
    if split == LABELLED_SPLIT:
        used = sorted(set(where.get("splits") or {}) & {"train", "test"})
        if not used:
            return []
        return [
            f"note: {data_path} is the store the model was trained on and the objects include its "
            f"{' and '.join(used)} split; a calibration fitted on them is biased (train) or makes later "
            "test scores optimistic (test)"
        ]
    if split == "val":
        return []
    use = "to train the model" if split == "train" else "to test the model"
    return [
        f"note: the {split} split of {data_path} was used {use}; a calibration fitted on it "
        "is biased (train) or makes later test scores optimistic (test); the val split is meant for it"
    ]
