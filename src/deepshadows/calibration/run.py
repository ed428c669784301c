"""``deepshadows calibrate``: fit (or fit again) the calibration of a trained model on a split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.calibration.record import fit_calibration
from deepshadows.calibration.storage import calibration_path, write_calibration
from deepshadows.errors import InputError
from deepshadows.predict.batch import FORWARD_BATCH

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
    store_path: str | os.PathLike[str],
    *,
    split: str = "val",
    method: str = "temperature",
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> dict[str, Any]:
    """Fit the calibration of a trained model on a split of a store and write it beside the model.

    The model's float32 logits on the split are computed, the probability map is fitted to
    them (:func:`~deepshadows.calibration.fit_calibration`) and the completeness and purity
    of the decision thresholds are measured there; everything is written, replacing an
    earlier calibration, to :func:`~deepshadows.calibration.calibration_path` of the model
    (``calibration.json`` in a run folder).

    Parameters
    ----------
    model_path : path-like
        A run folder or a ``.safetensors`` weight file (not a released model's name).
    store_path : path-like
        Store holding the split, with labels.
    split : str, optional
        Split to fit on: ``"val"`` (default) is held out from training and from the test set.
    method : {"temperature", "isotonic", "none"}, optional
        Calibration method (``none`` stores only the operating curves).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    dict
        ``calibration`` (:class:`~deepshadows.calibration.Calibration`), ``path`` (the written
        file), ``summary`` (one line) and ``notes`` (warnings about the choice of split).

    Raises
    ------
    deepshadows.errors.InputError
        If the model or store is invalid, the model is a released one, the split is empty,
        holds unlabelled objects or lacks a class, or the method does not fit the model.
    """
    from deepshadows.data.store import open_store
    from deepshadows.ensemble.layout import is_ensemble
    from deepshadows.evaluation.run import logits_of_split
    from deepshadows.models import fingerprint_store, load_model
    from deepshadows.models.io import _weights_file
    from deepshadows.training import store_targets

    path = _local_model(model_path)
    weights = path if is_ensemble(path) else _weights_file(path)
    model, meta = load_model(weights, device=device)
    num_classes = int((meta.get("model_kwargs") or {}).get("num_classes", 1))
    indices, logits = logits_of_split(model, store_path, split=split, device=device, batch_size=batch_size)
    with open_store(store_path) as store:
        targets = store_targets(store, num_classes)[indices]
    if (targets < 0).any():
        raise InputError(
            f"{store_path}: {int((targets < 0).sum())} object(s) of split {split!r} have no label; "
            "a calibration needs labelled objects"
        )
    fingerprint = fingerprint_store(store_path)
    calibration = fit_calibration(
        logits,
        np.asarray(targets, dtype=np.int64),
        method=method,
        split=split,
        store={"path": str(store_path), "fingerprint": fingerprint},
        weights_sha256=meta.get("weights_sha256"),
    )
    notes = []
    trained_on = (meta.get("store") or {}).get("fingerprint")
    if split != "val" and trained_on == fingerprint:
        use = "to train the model" if split == "train" else "to test the model"
        notes.append(
            f"note: the {split} split of {store_path} was used {use}; a calibration fitted on it "
            "is biased (train) or makes later test scores optimistic (test); the val split is meant for it"
        )
    out = write_calibration(calibration, calibration_path(weights))
    return {"calibration": calibration, "path": out, "summary": calibration.describe(), "notes": notes}
