"""What each compared model is: architecture, members, parameters and calibration method.

:func:`describe_model` reads them beside an evaluation folder, from the files the model was
saved with: the sidecar of a trained network or ensemble (through
:func:`deepshadows.models.load_model`), or the ``model.json`` of a baseline. Whatever cannot
be found is None, so a comparison shows it as missing instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepshadows.errors import InputError
from deepshadows.models.ensemble_layout import member_folder

__all__ = ["BASELINE_ARCHITECTURES", "FACTS", "describe_model", "uncalibrated_ece"]

#: The architecture name of each baseline of ``deepshadows baselines``.
BASELINE_ARCHITECTURES: dict[str, str] = {"svm": "svm", "rf": "random-forest"}
#: The entries of :func:`describe_model`, in the order of the comparison table.
FACTS: tuple[str, ...] = ("architecture", "members", "parameters", "calibration")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _calibration(extra: Mapping[str, Any]) -> str | None:
    """Return the calibration method from ``extra["probabilities"]`` (``calibrated (<method>)``)."""
    kind = extra.get("probabilities")
    if not isinstance(kind, str):
        return None
    if kind.startswith("calibrated (") and kind.endswith(")"):
        return kind[len("calibrated (") : -1]
    return "none" if kind == "uncalibrated" else kind


def _network(candidates: list[Any]) -> dict[str, Any] | None:
    """Architecture, members and trainable parameters of the first candidate that loads."""
    from deepshadows.models import load_model

    for candidate in candidates:
        try:
            model, meta = load_model(candidate)
        except (InputError, OSError, ValueError, KeyError):
            continue
        return {
            "architecture": meta.get("architecture"),
            "members": int((meta.get("ensemble") or {}).get("members", 1)),
            "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        }
    return None


def _sidecar_architecture(run: Path) -> dict[str, Any] | None:
    """Architecture (and members) from a run's or an ensemble's description, without the weights."""
    ensemble = _read(run / "ensemble.json")
    if ensemble is not None:
        members = ensemble.get("members")
        first = _read(member_folder(run, 0) / "model.json") or {}
        count = len(members) if isinstance(members, list) else None
        return {"architecture": first.get("architecture"), "members": count}
    sidecar = _read(run / "model.json")
    if sidecar is not None and sidecar.get("architecture"):
        return {"architecture": sidecar["architecture"], "members": 1}
    return None


def describe_model(folder: str | Path, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the model of an evaluation is, as far as its files tell.

    Parameters
    ----------
    folder : path-like
        The evaluation folder (holding ``metrics.json``): a training run's or ensemble's
        ``evaluation_<split>``, a baseline's folder, or an evaluation written elsewhere with
        ``evaluate --out`` (its model is then found through ``extra["model"]``).
    metrics : mapping
        The contents of its ``metrics.json``.

    Returns
    -------
    dict
        Keys :data:`FACTS`: ``architecture`` (``"deepshadows-table1"``, ``"compact-resnet"``,
        ``"svm"``, ``"random-forest"``, ...), ``members`` (networks averaged: 1, or an
        ensemble's size), ``parameters`` (trainable parameters, summed over the members; None
        for the baselines), ``calibration`` (the method recorded by ``evaluate``, e.g.
        ``"temperature T=1.42"``, ``"none"`` when the probabilities were not calibrated, None
        when nothing was recorded). Each is None where unknown.
    """
    folder = Path(folder)
    extra = metrics.get("extra") or {}
    facts: dict[str, Any] = dict.fromkeys(FACTS)
    facts["calibration"] = _calibration(extra)
    baseline = _read(folder / "model.json")
    if baseline is not None and baseline.get("format") == "deepshadows-baseline":
        kind = str(baseline.get("model") or extra.get("model"))
        return facts | {"architecture": BASELINE_ARCHITECTURES.get(kind, kind), "members": 1}
    candidates: list[Any] = [folder.parent]
    if extra.get("model"):
        candidates.append(str(extra["model"]))
    network = _network(candidates)
    if network is None:
        network = _sidecar_architecture(folder.parent) or {}
    return facts | network


def uncalibrated_ece(metrics: Mapping[str, Any]) -> float | None:
    """Return the ECE of a calibrated model's own probabilities, where ``evaluate`` recorded it.

    Parameters
    ----------
    metrics : mapping
        The contents of a ``metrics.json``.

    Returns
    -------
    float or None
        ``compared_calibration["uncalibrated"]["ece"]``; None when absent (an uncalibrated
        model, whose ``ece`` is already that of its own probabilities, or a baseline).
    """
    entry = (metrics.get("compared_calibration") or {}).get("uncalibrated") or {}
    value = entry.get("ece")
    return None if value is None else float(value)
