"""A float16 copy of an ensemble: an ensemble folder whose members hold float16 weights.

``deepshadows export ENSEMBLE --half OUT`` writes the folder ``OUT``:

``OUT/ensemble.json``
    The description of the source, with each member's new checksum and ``exported_from``
    (the source's checksum).
``OUT/calibration.json``
    The source ensemble's calibration, recorded for the copy's checksum.
``OUT/members/<i>/model.safetensors``, ``OUT/members/<i>/model.json``
    Member ``i`` as :func:`deepshadows.export.export_half` writes one model (its own
    calibration in its description).

It loads like any ensemble folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from deepshadows.ensemble.layout import (
    combined_sha256,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)
from deepshadows.errors import InputError

__all__ = ["export_ensemble_half"]


def export_ensemble_half(
    ensemble: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    portable: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a copy of an ensemble with its members' weights stored in float16.

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder.
    out : path-like
        The folder to write (see the module notes for its layout); not a ``.safetensors`` name.
    portable : bool, optional
        Replace absolute paths in the descriptions by their last component.
    overwrite : bool, optional
        Replace the files of an existing copy.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    deepshadows.errors.InputError
        If ``out`` names a weight file or holds files that ``overwrite`` does not allow to
        replace, or the ensemble cannot be loaded.
    """
    from deepshadows.calibration import calibration_path, find_calibration, write_calibration
    from deepshadows.ensemble.model import load_ensemble
    from deepshadows.export.compact import export_half

    out = Path(out)
    if out.suffix == ".safetensors":
        raise InputError(f"{out}: an ensemble is exported to a folder; give --half a folder name")
    if (out / "ensemble.json").exists() and not overwrite:
        raise InputError(f"{out}: already exists; pass --overwrite to replace it")
    _, meta = load_ensemble(ensemble)  # checks every member before anything is written
    description = read_ensemble_description(ensemble)
    members = []
    for index, entry in enumerate(description["members"]):
        target = member_folder(out, index)
        target.mkdir(parents=True, exist_ok=True)
        written = export_half(
            Path(ensemble) / entry["path"],
            target / "model.safetensors",
            portable=portable,
            overwrite=overwrite,
        )
        sidecar = json.loads(written.with_suffix(".json").read_text(encoding="utf-8"))
        members.append({**entry, "path": f"members/{index}", "weights_sha256": sidecar["weights_sha256"]})
    checksum = combined_sha256([m["weights_sha256"] for m in members])
    calibration = find_calibration(ensemble, meta)
    if calibration is not None:
        write_calibration(replace(calibration, weights_sha256=checksum), calibration_path(out))
    else:
        calibration_path(out).unlink(missing_ok=True)
    kept = {k: v for k, v in description.items() if k not in ("format", "format_version", "members")}
    if portable:
        kept["store"] = {
            **kept.get("store", {}),
            "path": Path(str(kept.get("store", {}).get("path", ""))).name,
        }
    exported_from = {"weights_sha256": meta["weights_sha256"], "stored_dtype": "float32"}
    write_ensemble_description(out, kept | {"members": members, "exported_from": exported_from})
    return out
