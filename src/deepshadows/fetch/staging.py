"""Staged partitions of a fetch: what a resumed run keeps.

Each finished partition is written atomically to ``<out>.parts/part-NNNNNN.npz`` beside a
``manifest.json`` that records the settings; a resumed run with other settings is refused.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import atomic_path, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.fetch.http import FetchStats
from deepshadows.fetch.partition import PartitionResult

__all__ = ["PartitionStaging"]


class PartitionStaging:
    """The staged partitions of one fetch: ``part-NNNNNN.npz`` files and a manifest.

    Parameters
    ----------
    folder : pathlib.Path
        The staging folder (``<out>.parts``, see :func:`deepshadows.fetch.output.staging_path`).
    manifest : dict
        Settings that determine the staged rows (``config``, ``partition_size``, ``n_valid``),
        written to ``manifest.json``.
    resume : bool
        Keep the partitions already staged when ``manifest.json`` matches ``manifest``;
        otherwise the folder is emptied and the manifest written anew.

    Raises
    ------
    deepshadows.errors.InputError
        With ``resume``, if the manifest is unreadable or records other settings; the message
        names the differing keys.
    """

    def __init__(self, folder: Path, manifest: dict[str, Any], *, resume: bool) -> None:
        self.folder = folder
        manifest_file = folder / "manifest.json"
        if resume and manifest_file.is_file():
            try:
                old = json.loads(manifest_file.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise InputError(
                    f"{manifest_file}: cannot resume, unreadable ({exc}); rerun without --resume"
                ) from exc
            new = json.loads(json.dumps(manifest, sort_keys=True, default=str))
            if old != new:
                keys = sorted(
                    k
                    for k in old.get("config", {}).keys() | new["config"].keys()
                    if old.get("config", {}).get(k) != new["config"].get(k)
                )
                keys += [k for k in ("partition_size", "n_valid") if old.get(k) != new.get(k)]
                raise InputError(
                    f"{folder}: cannot resume, the staged rows were fetched with different settings "
                    f"(differing: {', '.join(keys) or 'format'}); rerun without --resume to start over"
                )
        else:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            write_json_atomic(manifest_file, manifest)

    def _file(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.npz"

    def done(self, n_partitions: int) -> set[int]:
        """Return the indices of the partitions already staged and readable."""
        done = set()
        for index in range(n_partitions):
            path = self._file(index)
            if path.is_file():
                try:
                    with np.load(path, allow_pickle=False) as data:
                        _ = data["ok"]
                    done.add(index)
                except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                    path.unlink(missing_ok=True)
        return done

    def write(self, result: PartitionResult) -> None:
        """Stage one partition atomically."""
        arrays: dict[str, np.ndarray] = {
            "ok": result.ok,
            "images": result.images,
            "flags": result.flags,
            "reasons": np.array(result.reasons, dtype=str),
            "stats": np.array(json.dumps(result.stats.to_dict())),
        }
        if result.features is not None:
            arrays["features"] = result.features
        with atomic_path(self._file(result.index)) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    def read(self, index: int) -> PartitionResult:
        """Load one staged partition."""
        with np.load(self._file(index), allow_pickle=False) as data:
            return PartitionResult(
                index=index,
                ok=data["ok"],
                images=data["images"],
                features=data["features"] if "features" in data.files else None,
                flags=data["flags"],
                reasons=[str(r) for r in data["reasons"]],
                stats=FetchStats.from_dict(json.loads(str(data["stats"]))),
            )

    def remove(self) -> None:
        """Delete the staging folder."""
        shutil.rmtree(self.folder, ignore_errors=True)
