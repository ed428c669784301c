"""Metrics of an evaluation split by bins of a simulated truth parameter (``evaluate --by``).

On a simulated store every object keeps the parameters it was drawn with (the ``truth``
table); ``--by mu_eff`` scores the model in bins of the LSBGs' mean g surface brightness, with
the bins of :data:`deepshadows.simulate.truth.AXES`. Artifacts have no LSBG truth, so a bin
holds only LSBGs and its completeness (with a Wilson interval) is the figure of merit; the
objects without a value (the artifacts) get one row of their own.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import atomic_path, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.metrics.binomial import binomial_interval
from deepshadows.metrics.scores import binary_metrics
from deepshadows.simulate.truth import AXES, Axis, parse_grid
from deepshadows.store.reader import open_store

__all__ = ["add_truth_bins", "metrics_by_truth", "truth_axis"]


def truth_axis(by: str) -> Axis:
    """Return the truth axis that ``--by`` names (``mu_eff``, ``r_eff``, ``sersic_n``, ``q``, ``color``).

    Parameters
    ----------
    by : str
        One axis name or alias (see :func:`deepshadows.simulate.truth.parse_grid`).

    Returns
    -------
    Axis

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown axis or more than one.
    """
    try:
        names = parse_grid(by)
    except InputError as exc:
        raise InputError(str(exc).replace("--grid", "--by", 1)) from None
    if len(names) != 1:
        raise InputError(f"--by: give one of {', '.join(AXES)}, got {by!r}")
    return AXES[names[0]]


def metrics_by_truth(
    y_true: np.ndarray, prob: np.ndarray, values: np.ndarray, axis: Axis, *, threshold: float
) -> list[dict[str, Any]]:
    """Score a binary classifier in the bins of one truth parameter.

    Parameters
    ----------
    y_true : ndarray of shape (N,)
        1 for LSBGs, 0 for artifacts.
    prob : ndarray of shape (N,)
        Probability of being an LSBG.
    values : ndarray of shape (N,)
        The truth parameter of each object (NaN where it has none).
    axis : Axis
        Gives the bins.
    threshold : float
        Decision threshold.

    Returns
    -------
    list of dict
        One row per non-empty bin, then ``no value`` and ``outside`` rows when such objects
        exist: ``bin``, ``low``, ``high``, ``n``, ``n_lsbg``, ``n_artifact``, ``accuracy``,
        ``completeness`` with ``completeness_low`` and ``completeness_high`` (95 % Wilson
        interval), and ``purity``.
    """
    index = np.digitize(values, axis.edges) - 1
    groups: list[tuple[str, float, float, np.ndarray]] = [
        (f"{lo:g}-{hi:g}", lo, hi, np.isfinite(values) & (index == k))
        for k, (lo, hi) in enumerate(zip(axis.edges[:-1], axis.edges[1:], strict=True))
    ]
    outside = np.isfinite(values) & ((index < 0) | (index >= len(axis.edges) - 1))
    groups += [("no value", np.nan, np.nan, ~np.isfinite(values)), ("outside", np.nan, np.nan, outside)]
    rows = []
    for name, lo, hi, mask in groups:
        if not mask.any():
            continue
        y, p = y_true[mask], prob[mask]
        scores = binary_metrics(y, p, threshold=threshold)
        n_lsbg = int(y.sum())
        k = int(((p > threshold) & (y == 1)).sum())
        low, high = binomial_interval(np.array([k]), np.array([n_lsbg]))
        rows.append(
            {
                "bin": name,
                "low": lo,
                "high": hi,
                "n": int(mask.sum()),
                "n_lsbg": n_lsbg,
                "n_artifact": int(mask.sum()) - n_lsbg,
                "accuracy": scores["accuracy"],
                "completeness": scores["completeness"],
                "completeness_low": float(low[0]),
                "completeness_high": float(high[0]),
                "purity": scores["purity"],
            }
        )
    return [
        {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in r.items()} for r in rows
    ]


def add_truth_bins(
    result: dict[str, Any],
    out: Path,
    store_path: str | os.PathLike[str],
    indices: np.ndarray,
    y_true: np.ndarray,
    prob: np.ndarray,
    *,
    by: str,
    threshold: float,
) -> dict[str, Any]:
    """Write ``by_<axis>.csv`` of an evaluation and add its rows to ``metrics.json``.

    Parameters
    ----------
    result : dict
        The evaluation's result (what ``metrics.json`` holds).
    out : pathlib.Path
        The evaluation folder.
    store_path : path-like
        The simulated store evaluated.
    indices : ndarray of int
        Store rows of the evaluated objects.
    y_true, prob : ndarray of shape (N,)
        Their labels and LSBG probabilities.
    by : str
        The truth axis (see :func:`truth_axis`).
    threshold : float
        Decision threshold.

    Returns
    -------
    dict
        ``result`` with ``by_truth`` (``axis``, ``column``, ``rows``) and the new file in
        ``files``.

    Raises
    ------
    deepshadows.errors.InputError
        If the store has no truth table or no such column, or the model is not binary.
    """
    axis = truth_axis(by)
    if np.ndim(prob) != 1:
        raise InputError("--by: scores binary models (LSBG against artifact) only")
    with open_store(store_path) as store:
        if not store.has_truth:
            raise InputError(f"--by: {store_path} has no truth table (only simulated stores have one)")
        truth = store.truth_table()
    if axis.column not in truth.colnames:
        raise InputError(f"--by: {store_path} has no truth column {axis.column!r}")
    values = np.asarray(truth[axis.column], dtype=float)[indices]
    rows = metrics_by_truth(np.asarray(y_true), np.asarray(prob), values, axis, threshold=threshold)
    name = f"by_{axis.name}.csv"
    with atomic_path(out / name) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    files = sorted({*result.get("files", []), name})
    block = {"axis": axis.name, "column": axis.column, "rows": rows}
    metrics_json = out / "metrics.json"
    stored = json.loads(metrics_json.read_text(encoding="utf-8"))
    write_json_atomic(metrics_json, stored | {"by_truth": block, "files": files})
    return result | {"by_truth": block, "files": files}
