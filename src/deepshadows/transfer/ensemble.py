"""Transfer of an ensemble: every member fine-tuned on the same sample, kept as an ensemble folder.

Member ``i`` is fine-tuned with :func:`~deepshadows.transfer.finetune.fine_tune`, the same
settings as the others and seed ``seed + i`` (as ``train --members`` seeds its members), so
member 0 is fine-tuned exactly as the member alone would be. The result is written as
``train --members`` lays out an ensemble (:mod:`deepshadows.models.ensemble_layout`):
``members/<i>/model.safetensors`` with its description and ``finetune_history.csv``, and
``ensemble.json``, written last. The fine-tuned members have new weights, so neither the source
ensemble's calibration nor its members' are carried: the result is uncalibrated, as a
fine-tuned single network is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import read_json
from deepshadows._provenance import package_versions, provenance
from deepshadows.errors import InputError
from deepshadows.models.ensemble import EnsembleModule
from deepshadows.models.ensemble_layout import (
    ENSEMBLE_NAME,
    MEMBERS_FOLDER,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)
from deepshadows.training.run_files import remove_extra_members
from deepshadows.transfer.finetune import NOT_CARRIED, fine_tune, write_history

__all__ = ["check_output_layout", "fine_tune_ensemble", "mean_history", "save_ensemble"]


def check_output_layout(out: str | os.PathLike[str], *, ensemble: bool) -> None:
    """Refuse an output folder that holds the other kind of model (one network or an ensemble).

    Transfer replaces the files of its own kind in the folder, but a folder holding both a
    network and an ensemble would load as whichever the loader tries first.

    Parameters
    ----------
    out : path-like
        The output folder (it may not exist).
    ensemble : bool
        Whether an ensemble is to be written.

    Raises
    ------
    deepshadows.errors.InputError
        If ``out`` holds an ensemble and one network is to be written, or the reverse.
    """
    out = Path(out)
    if ensemble and (out / "model.safetensors").exists() and not (out / ENSEMBLE_NAME).exists():
        raise InputError(
            f"{out}: folder holds one network (model.safetensors); choose another --out for the ensemble"
        )
    if not ensemble and (out / ENSEMBLE_NAME).exists():
        raise InputError(
            f"{out}: folder holds an ensemble ({ENSEMBLE_NAME}); choose another --out for one network"
        )


def fine_tune_ensemble(
    model: EnsembleModule,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    **settings: Any,
) -> tuple[EnsembleModule, list[list[dict[str, float]]]]:
    """Fine-tune every member of an ensemble on the same sample; member ``i`` with seed ``seed + i``.

    Parameters
    ----------
    model : EnsembleModule
        The ensemble (left unchanged).
    images : ndarray of shape (N, H, W, 3), uint8
        Fine-tuning cutouts.
    labels : ndarray of shape (N,)
        Their targets.
    seed : int, optional
        Seed of member 0; member ``i`` gets ``seed + i``.
    **settings
        ``mode``, ``epochs``, ``batch_size``, ``lr``, ``precision`` and ``device`` of
        :func:`~deepshadows.transfer.finetune.fine_tune`, the same for every member.

    Returns
    -------
    model : EnsembleModule
        The fine-tuned members, in evaluation mode.
    histories : list of list of dict
        Each member's per-epoch ``epoch``, ``loss`` and ``accuracy``.
    """
    tuned, histories = [], []
    for index, member in enumerate(model.members):
        copy, history = fine_tune(member, images, labels, seed=int(seed) + index, **settings)
        tuned.append(copy)
        histories.append(history)
    return EnsembleModule(tuned).eval(), histories


def mean_history(histories: Sequence[Sequence[Mapping[str, float]]]) -> list[dict[str, float]]:
    """Return the members' mean ``loss`` and ``accuracy`` per epoch (the members train as long).

    Parameters
    ----------
    histories : sequence of sequence of dict
        Each member's history (:func:`fine_tune_ensemble`).

    Returns
    -------
    list of dict
        ``epoch``, ``loss`` and ``accuracy`` per epoch, as ``finetune_history.csv`` holds them.
    """
    rows = []
    for epoch_rows in zip(*histories, strict=True):
        rows.append(
            {
                "epoch": epoch_rows[0]["epoch"],
                "loss": float(np.mean([r["loss"] for r in epoch_rows])),
                "accuracy": float(np.mean([r["accuracy"] for r in epoch_rows])),
            }
        )
    return rows


def save_ensemble(
    tuned: EnsembleModule,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    entry: str,
    settings: Mapping[str, Any],
    histories: Sequence[Sequence[Mapping[str, float]]],
    summary: Mapping[str, Any],
) -> Path:
    """Write fine-tuned members as an ensemble folder, ``ensemble.json`` last.

    Parameters
    ----------
    tuned : EnsembleModule
        The fine-tuned members, in the source's member order.
    source : path-like
        The source ensemble folder (its members' descriptions and its ``ensemble.json`` are
        carried, less the weights' checksums and calibrations).
    out : path-like
        The output folder (created).
    entry : str
        Name of the entry recording ``settings`` (``"transfer"``).
    settings : mapping
        The fine-tuning settings; each member's copy gets its own ``seed``.
    histories : sequence of sequence of dict
        Each member's history, written to ``members/<i>/finetune_history.csv``.
    summary : mapping
        Entries added to ``ensemble.json`` (the metrics after fine-tuning, say).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    from deepshadows.models import save_model
    from deepshadows.models.io import sidecar_path

    source, out = Path(source), Path(out)
    description = read_ensemble_description(source)
    if len(description["members"]) != len(tuned.members):
        raise InputError(
            f"{source}: {len(tuned.members)} fine-tuned members for {len(description['members'])}"
        )
    (out / ENSEMBLE_NAME).unlink(missing_ok=True)  # until every member is written
    remove_extra_members(out, len(tuned.members))
    members = []
    for index, (member, old) in enumerate(zip(tuned.members, description["members"], strict=True)):
        folder = member_folder(out, index)
        folder.mkdir(parents=True, exist_ok=True)
        meta = read_json(source / old["path"] / "model.json", "member description")
        seed = int(settings["seed"]) + index
        kept = {k: v for k, v in meta.items() if k not in NOT_CARRIED}
        weights = save_model(
            member, folder / "model.safetensors", metadata={**kept, entry: {**settings, "seed": seed}}
        )
        sidecar = read_json(sidecar_path(weights), "member description")
        write_history(histories[index], folder / "finetune_history.csv")
        members.append(
            {
                "path": f"{MEMBERS_FOLDER}/{index}",
                "seed": seed,
                "finished": True,
                "weights_sha256": sidecar["weights_sha256"],
            }
        )
    kept = {k: v for k, v in description.items() if k in ("config", "store")}
    write_ensemble_description(
        out,
        kept
        | {
            "members": members,
            "seeds": [m["seed"] for m in members],
            entry: dict(settings),
            **summary,
            "versions": package_versions(),
            "provenance": provenance(),
        },
    )
    return out
