"""Summaries of a store: counts, contact sheet, feature distributions and calibration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import write_json_atomic
from deepshadows.domain.realism import (
    compare_to_real,
    comparison_markdown,
    cutout_statistics,
    plot_calibration,
    reference_note,
)
from deepshadows.store.reader import open_store
from deepshadows.viz import contact_sheet, feature_distributions

__all__ = ["calibration_summary", "default_summary_dir", "inspect_store"]

#: Number of cutouts per class used for the calibration statistics (random, seeded).
CALIBRATION_SAMPLE = 2000


def default_summary_dir(store_path: str | os.PathLike[str]) -> Path:
    """Return the folder beside a store for its summary: ``data/des.h5`` -> ``data/des_summary``.

    Parameters
    ----------
    store_path : path-like
        The store file; it need not exist.

    Returns
    -------
    pathlib.Path
        ``<stem>_summary`` in the store's folder (not created).
    """
    path = Path(store_path)
    return path.with_name(path.stem + "_summary")


def calibration_summary(
    images: np.ndarray, labels: np.ndarray, *, reference: str = "des-dr1"
) -> tuple[dict[str, dict[str, np.ndarray]], list[dict[str, Any]]]:
    """Per-class cutout statistics and their comparison with real cutouts.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, 3), uint8
        Cutouts.
    labels : ndarray of shape (N,)
        1 for LSBGs, 0 for artifacts.
    reference : str, optional
        Real set to compare with (``"des-dr1"`` or ``"ls-dr9"``).

    Returns
    -------
    stats_by_class : dict
        ``{"lsbg": stats, "artifact": stats}`` as returned by ``cutout_statistics``.
    rows : list of dict
        The comparison table rows.
    """
    stats = {
        "lsbg": cutout_statistics(images[labels == 1]),
        "artifact": cutout_statistics(images[labels != 1]),
    }
    return stats, compare_to_real(stats, reference=reference)


def inspect_store(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    per_group: int = 8,
    seed: int = 0,
    reference: str | None = None,
) -> dict[str, Any]:
    """Write the summary of a store: counts, contact sheet, feature and calibration figures.

    Parameters
    ----------
    path : path-like
        The store.
    out_dir : path-like, optional
        Output folder (default: ``<store stem>_summary`` beside the store).
    per_group : int, optional
        Examples per class and subclass on the contact sheet.
    seed : int, optional
        Seed of the random choice of examples and of the calibration sample.
    reference : str, optional
        Real cutouts to compare with; by default ``"des-dr1"`` for DES stores and none otherwise
        (the calibration targets were measured on DES cutouts).

    Returns
    -------
    dict
        The store's summary plus ``figures`` (paths) and ``calibration`` (rows), also written to
        ``summary.json`` in ``out_dir``.
    """
    out = Path(out_dir) if out_dir is not None else default_summary_dir(path)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with open_store(path) as store:
        summary = store.summary()
        labels, kinds, subclasses = store.labels, store.kinds, store.subclasses
        sample = np.sort(rng.permutation(len(store))[: CALIBRATION_SAMPLE * 2])
        images = store.read_images(sample)
        figures = {
            "contact_sheet": str(
                contact_sheet(
                    images,
                    kinds[sample],
                    subclasses[sample],
                    out / "contact_sheet.png",
                    per_group=per_group,
                    seed=seed,
                )
            )
        }
        if store.has_features:
            table = store.features_table()
            names = list(table.colnames)
            values = np.stack([np.asarray(table[name], dtype=np.float64) for name in names], axis=1)
            figures["features"] = str(
                feature_distributions(values, names, labels, out / "features.png", flags=store.feature_flags)
            )
    if reference is None:
        reference = "des-dr1" if str(summary.get("survey", "")).lower() == "des" else ""
    rows: list[dict[str, Any]] = []
    if reference and (labels[sample] >= 0).all():
        stats, rows = calibration_summary(images, labels[sample], reference=reference)
        figures["calibration"] = str(plot_calibration(stats, out / "calibration.png", reference=reference))
        (out / "calibration.md").write_text(comparison_markdown(rows) + "\n" + reference_note(reference))
    summary |= {"figures": figures, "calibration_reference": reference, "calibration": rows}
    write_json_atomic(out / "summary.json", summary)
    return summary
