"""Baseline model files: skops (no pickle) plus a JSON sidecar, loaded only if every type is known.

A fitted pipeline is written with :func:`skops.io.dump`, which stores the objects' state as
data, not as pickled code. Loading lists the file's object types with
:func:`skops.io.get_untrusted_types` and refuses any outside scikit-learn, NumPy and SciPy
(the types a :func:`~deepshadows.baselines.pipelines.make_baseline` pipeline is made of); the
sidecar also records the file's SHA-256, checked before loading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from deepshadows._io import atomic_path, file_sha256, write_json_atomic
from deepshadows.errors import InputError

__all__ = ["load_baseline", "save_baseline"]

_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
_FORMAT = "deepshadows-baseline"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def save_baseline(pipeline: Pipeline, path: str | os.PathLike[str], *, metadata: Mapping[str, Any]) -> Path:
    """Write a fitted pipeline (``.skops``) and its JSON sidecar, each atomically.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted baseline.
    path : path-like
        File ending in ``.skops``.
    metadata : mapping
        JSON-serialisable description (model, parameters, data set, versions, metrics).

    Returns
    -------
    pathlib.Path
        The model file.

    Raises
    ------
    deepshadows.errors.InputError
        If ``path`` does not end in ``.skops``.
    """
    import skops.io

    path = Path(path)
    if path.suffix != ".skops":
        raise InputError(f"{path}: a baseline model file name must end in .skops")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        skops.io.dump(pipeline, tmp)
    write_json_atomic(
        _sidecar(path),
        {**dict(metadata), "format": _FORMAT, "model_file": path.name, "sha256": file_sha256(path)},
    )
    return path


def load_baseline(path: str | os.PathLike[str]) -> tuple[Pipeline, dict[str, Any]]:
    """Load a baseline written by :func:`save_baseline`, without unpickling anything.

    Parameters
    ----------
    path : path-like
        The ``.skops`` file (its sidecar beside it).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
    metadata : dict

    Raises
    ------
    deepshadows.errors.InputError
        If a file is missing, the checksum differs from the sidecar's, or the file holds an
        object type outside scikit-learn, NumPy and SciPy.
    """
    import json

    import skops.io

    path = Path(path)
    sidecar = _sidecar(path)
    for needed in (path, sidecar):
        if not needed.is_file():
            raise InputError(f"{needed}: baseline model file not found")
    try:
        metadata = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{sidecar}: not a readable JSON sidecar ({exc})") from exc
    if metadata.get("format") != _FORMAT or file_sha256(path) != metadata.get("sha256"):
        raise InputError(
            f"{path}: does not match its sidecar {sidecar.name} (modified or not written by deepshadows)"
        )
    try:
        types = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises several kinds for a damaged file
        raise InputError(f"{path}: not a readable skops file ({exc})") from exc
    foreign = [t for t in types if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign:
        raise InputError(f"{path}: refuses to load object types outside scikit-learn/NumPy/SciPy: {foreign}")
    pipeline = skops.io.load(path, trusted=types)
    if not isinstance(pipeline, Pipeline):
        raise InputError(f"{path}: holds a {type(pipeline).__name__}, not a scikit-learn pipeline")
    return pipeline, metadata
