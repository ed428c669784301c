"""End-to-end jobs that chain the library's steps (the ``demo`` command)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from deepshadows.data.store import open_store
from deepshadows.errors import InputError
from deepshadows.inspection import inspect_store
from deepshadows.simulate import SimConfig, make_dataset

__all__ = ["run_demo"]


def run_demo(
    out: str | os.PathLike[str], *, n: int = 600, seed: int = 0, workers: int | None = None
) -> dict[str, Any]:
    """Simulate a small DES data set (or reuse one made with the same options) and summarise it.

    Parameters
    ----------
    out : path-like
        Folder for the data set (``des_demo.h5``) and its summary (``des_demo_summary/``).
    n : int, optional
        Number of objects.
    seed : int, optional
        Seed.
    workers : int, optional
        Worker processes (default: all cores).

    Returns
    -------
    dict
        The data set's summary (see :func:`deepshadows.inspection.inspect_store`).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    store_path = folder / "des_demo.h5"
    cfg = SimConfig(survey="des", n=n, seed=seed)
    if not _matches(store_path, cfg):
        make_dataset(store_path, cfg, workers=workers, overwrite=True, resume=True)
    return inspect_store(store_path)


def _matches(path: Path, cfg: SimConfig) -> bool:
    """Whether ``path`` is a complete store made with exactly ``cfg``."""
    if not path.exists():
        return False
    try:
        with open_store(path) as store:
            return store.config == _jsonable(cfg.to_dict())
    except InputError:
        return False


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj))
