"""The calibration of an ensemble as a whole, fitted on the validation split of its store.

The members' mean probability is what the ensemble predicts, so that is what is calibrated.
Temperature scaling is fitted on the logit of the mean probability (the ensemble's logit,
:mod:`deepshadows.models.ensemble_combine`): ``sigmoid(logit(mean p) / T)``. Isotonic regression is
fitted on the mean probability itself. The result is an ordinary
:class:`~deepshadows.calibration.Calibration` in ``calibration.json`` at the top of the
ensemble folder, recording the ensemble's checksum (the SHA-256 of its members' checksums).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepshadows.errors import InputError

__all__ = ["calibrate_ensemble"]


def calibrate_ensemble(
    ensemble: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    method: str = "temperature",
    device: str = "cpu",
    log: Callable[[str], object] | None = None,
) -> Any:
    """Fit the calibration of an ensemble's mean probability on the val split; write it.

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder (every member finished).
    store_path : path-like
        Store with a labelled ``val`` split.
    method : {"temperature", "platt", "isotonic", "none"}, optional
        The probability map (:func:`deepshadows.calibration.fit_calibration`).
    device : str, optional
        Torch device of the members (resolved as for training).
    log : callable, optional
        Called with one line: the calibration fitted, or why there is none.

    Returns
    -------
    Calibration or None
        The calibration written to ``<ensemble>/calibration.json``; None when the validation
        split holds one class only (an older ``calibration.json`` is then removed).

    Raises
    ------
    deepshadows.errors.InputError
        If the ensemble or the store cannot be read.
    """
    from deepshadows._device import resolve_device
    from deepshadows.calibration import calibration_path, fit_calibration, write_calibration
    from deepshadows.evaluation.run import logits_of_split
    from deepshadows.models import fingerprint_store, load_model
    from deepshadows.store.reader import open_store
    from deepshadows.training import store_targets

    emit = log if log is not None else (lambda _line: None)
    torch_device = resolve_device(device)
    model, meta = load_model(ensemble, device=torch_device)
    num_classes = int(meta.get("model_kwargs", {}).get("num_classes", 1))
    indices, logits = logits_of_split(model, store_path, split="val", device=str(torch_device))
    with open_store(store_path) as store:
        targets = store_targets(store, num_classes)[indices]
    target = calibration_path(ensemble)
    try:
        calibration = fit_calibration(
            logits,
            targets,
            method=method,
            split="val",
            store={"path": str(Path(store_path)), "fingerprint": fingerprint_store(store_path)},
            weights_sha256=meta.get("weights_sha256"),
        )
    except InputError as exc:
        target.unlink(missing_ok=True)
        emit(f"ensemble: no calibration: {exc}")
        return None
    write_calibration(calibration, target)
    emit(f"ensemble: {calibration.describe()}")
    return calibration
