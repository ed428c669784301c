"""The files of an ensemble folder: ``ensemble.json`` and one run folder per member.

An ensemble folder holds:

``ensemble.json``
    The description: format and version, the members (their folder, seed, whether they
    finished training and the checksum of their kept weights), the training configuration
    (with the first member's seed), the store and the package versions. Written atomically,
    after every member that finishes.
``calibration.json``
    The calibration of the ensemble's mean probability, fitted on the validation split
    (see :mod:`deepshadows.ensemble.calibrate`).
``members/<i>/``
    Member ``i``: a normal training run folder (``model.safetensors``, ``model.json``,
    ``last.pt``, ``history.csv``, ``config.json``, its own ``calibration.json``, ...), trained
    with seed ``seed + i``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows._io import check_format_version, read_json, write_json_atomic
from deepshadows.errors import InputError

__all__ = [
    "ENSEMBLE_FORMAT",
    "ENSEMBLE_NAME",
    "MEMBERS_FOLDER",
    "combined_sha256",
    "is_ensemble",
    "member_folder",
    "read_ensemble_description",
    "write_ensemble_description",
]

#: File name of an ensemble's description.
ENSEMBLE_NAME = "ensemble.json"
#: Sub-folder holding the members' run folders.
MEMBERS_FOLDER = "members"
#: ``format`` entry of the description.
ENSEMBLE_FORMAT = "deepshadows-ensemble"
_FORMAT_VERSION = 1


def is_ensemble(path: str | os.PathLike[str]) -> bool:
    """Return whether a path is an ensemble folder (a folder holding ``ensemble.json``).

    Parameters
    ----------
    path : path-like
        Any path.

    Returns
    -------
    bool
        True for an ensemble folder.
    """
    path = Path(path)
    return path.is_dir() and (path / ENSEMBLE_NAME).exists()


def member_folder(ensemble: str | os.PathLike[str], index: int) -> Path:
    """Return the run folder of member ``index`` of an ensemble (it may not exist yet).

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder.
    index : int
        Member index, from 0.

    Returns
    -------
    pathlib.Path
        ``<ensemble>/members/<index>``.
    """
    return Path(ensemble) / MEMBERS_FOLDER / str(int(index))


def combined_sha256(member_checksums: Sequence[str]) -> str:
    """Return the checksum of an ensemble's weights: the SHA-256 of its members' checksums.

    A calibration records it, so one fitted for other members is refused.

    Parameters
    ----------
    member_checksums : sequence of str
        The members' ``weights_sha256``, in member order.

    Returns
    -------
    str
        Hexadecimal SHA-256.
    """
    return hashlib.sha256("\n".join(member_checksums).encode()).hexdigest()


def write_ensemble_description(ensemble: str | os.PathLike[str], description: Mapping[str, Any]) -> Path:
    """Write ``ensemble.json`` atomically, with its format and version.

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder (it must exist).
    description : mapping
        ``members`` (a list of ``{"path", "seed", "finished", "weights_sha256"}``), ``seeds``,
        ``config``, ``store``, ``versions`` and any other JSON-serialisable entries.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(ensemble) / ENSEMBLE_NAME
    write_json_atomic(path, {"format": ENSEMBLE_FORMAT, "format_version": _FORMAT_VERSION, **description})
    return path


def _check_member(entry: Any, index: int, path: Path) -> None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise InputError(f"{path}: member {index} is not an object with a 'path'")
    relative = Path(entry["path"])
    if relative.is_absolute() or ".." in relative.parts:
        raise InputError(f"{path}: member {index} path {entry['path']!r} must lie inside the ensemble folder")


def read_ensemble_description(ensemble: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check an ensemble folder's ``ensemble.json``.

    Parameters
    ----------
    ensemble : path-like
        The ensemble folder.

    Returns
    -------
    dict
        The description (see :func:`write_ensemble_description`).

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, not JSON, of another format or a newer version, or its member
        list is malformed; the message names the file.
    """
    path = Path(ensemble) / ENSEMBLE_NAME
    data = read_json(path, "ensemble description")
    if not isinstance(data, dict) or data.get("format") != ENSEMBLE_FORMAT:
        raise InputError(f"{path}: not an ensemble description (format {ENSEMBLE_FORMAT!r} expected)")
    check_format_version(path, data.get("format_version"), _FORMAT_VERSION, "ensemble")
    members = data.get("members")
    if not isinstance(members, list) or not members:
        raise InputError(f"{path}: 'members' must be a non-empty list")
    for index, entry in enumerate(members):
        _check_member(entry, index, path)
    return data
