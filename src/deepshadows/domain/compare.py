"""Compare the cutouts of a store with those of a reference store, for example simulated with real.

Per class (LSBG, artifact), on up to ``max_per_class`` randomly chosen cutouts of each store:

* ``side_by_side.png``: the same number of cutouts of both stores, one row per class and store;
* ``calibration.md`` and ``calibration.png``: the section 7b statistics (``bg_median``,
  ``bg_std``, ``clip_frac``, ``center_excess``) of both stores per channel, with a two-sample
  KS test each;
* ``sources.md`` and ``sources.png``: what ``sep`` finds in each cutout
  (:mod:`deepshadows.domain.sources`): sources per cutout, their sizes and colour-magnitude
  distribution, with medians and KS tests;
* ``comparison.json``: every row of both tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import write_json_atomic
from deepshadows.domain.figures import plot_calibration_pair, plot_sources_pair, side_by_side_sheet
from deepshadows.domain.realism import cutout_statistics
from deepshadows.domain.sources import detect_sources
from deepshadows.domain.tables import (
    calibration_rows,
    calibration_table,
    source_quantities,
    source_rows,
    source_table,
)
from deepshadows.errors import InputError
from deepshadows.store.reader import open_store

__all__ = ["CLASSES", "compare_stores"]

#: Classes compared, with the store label that selects them.
CLASSES: dict[str, int] = {"lsbg": 1, "artifact": 0}


def _sample(path: Path, what: str, max_per_class: int, rng: np.random.Generator) -> dict[str, Any]:
    """Read up to ``max_per_class`` random cutouts of each class, with their row numbers."""
    try:
        store = open_store(path)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from exc
    with store:
        labels = store.labels
        out = {}
        for cls, label in CLASSES.items():
            rows = np.flatnonzero(labels == label)
            rows = np.sort(rng.permutation(rows)[:max_per_class])
            out[cls] = (store.read_images(rows) if rows.size else np.zeros((0, 1, 1, 3), np.uint8), rows)
    return out


def _names(store: Path, reference: Path) -> tuple[str, str]:
    if store.name != reference.name:
        return store.name, reference.name
    return "store", "reference"


def compare_stores(
    store: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    per_group: int = 8,
    seed: int = 0,
    max_per_class: int = 2000,
) -> dict[str, Any]:
    """Compare a store's cutouts with a reference store's, per class; write tables and figures.

    Parameters
    ----------
    store : path-like
        The store to judge, e.g. a simulated one.
    reference : path-like
        The store to compare it with, e.g. real cutouts imported with ``deepshadows import``.
    out_dir : path-like
        Output folder (created).
    per_group : int, optional
        Cutouts per class and store on the side-by-side sheet (fewer if a store has fewer).
    seed : int, optional
        Seed of the choice of cutouts.
    max_per_class : int, optional
        Most cutouts per class and store that are measured.

    Returns
    -------
    dict
        ``names`` (the two stores' names in the tables), ``classes``, ``counts`` (cutouts
        measured per store and class), ``calibration`` and ``sources`` (table rows),
        ``tables`` (Markdown) and ``figures`` (paths); also written to ``comparison.json``.

    Raises
    ------
    deepshadows.errors.InputError
        If either file is not a store (the message names it as store or reference), or no
        class has labelled cutouts in both stores.
    """
    if per_group < 1 or max_per_class < 1:
        raise InputError(f"per_group and max_per_class must be positive, got {per_group}, {max_per_class}")
    paths = (Path(store), Path(reference))
    names = _names(*paths)
    rng = np.random.default_rng(seed)
    loaded = {
        name: _sample(path, what, max_per_class, rng)
        for name, path, what in zip(names, paths, ("store", "reference"), strict=True)
    }
    classes = [cls for cls in CLASSES if all(loaded[n][cls][1].size for n in names)]
    if not classes:
        raise InputError(
            f"reference {paths[1]}: no class has labelled cutouts in both stores "
            f"({paths[0].name}: {[c for c in CLASSES if loaded[names[0]][c][1].size]}, "
            f"{paths[1].name}: {[c for c in CLASSES if loaded[names[1]][c][1].size]})"
        )
    stats: dict[str, dict[str, Any]] = {n: {} for n in names}
    quantities: dict[str, dict[str, Any]] = {n: {} for n in names}
    for name in names:
        for cls in classes:
            images = loaded[name][cls][0]
            stats[name][cls] = cutout_statistics(images)
            found = detect_sources(images, stats[name][cls]["bg_median"])
            quantities[name][cls] = source_quantities(found)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shown = {}
    for c, cls in enumerate(classes):
        k = min(per_group, *(loaded[n][cls][1].size for n in names))
        for s, name in enumerate(names):
            images, rows = loaded[name][cls]
            pick = np.sort(np.random.default_rng([seed, c, s]).permutation(rows.size)[:k])
            shown.setdefault(name, {})[cls] = (images[pick], rows[pick])
    cal_rows = calibration_rows(stats, names)
    src_rows = source_rows(quantities, names)
    tables = {
        "calibration": calibration_table(cal_rows, names),
        "sources": source_table(src_rows, names),
    }
    (out / "calibration.md").write_text(tables["calibration"])
    (out / "sources.md").write_text(tables["sources"])
    figures = {
        "side_by_side": str(side_by_side_sheet(shown, names, out / "side_by_side.png")),
        "calibration": str(plot_calibration_pair(stats, names, out / "calibration.png")),
        "sources": str(plot_sources_pair(quantities, names, out / "sources.png")),
    }
    result = {
        "store": str(paths[0]),
        "reference": str(paths[1]),
        "names": list(names),
        "classes": classes,
        "counts": {n: {c: int(loaded[n][c][1].size) for c in classes} for n in names},
        "calibration": cal_rows,
        "sources": src_rows,
        "tables": tables,
        "figures": figures,
    }
    write_json_atomic(out / "comparison.json", result)
    return result
