"""Completeness and contamination tables: counts in truth bins with binomial intervals.

Three stages are scored for every object (columns of the per-object table):

``preselection``
    The catalogue features measured on the cutout pass the T21 cuts
    (:func:`deepshadows.features.passes_preselection`);
``classifier``
    The model's probability is at least the threshold;
``both``
    Both, the selection of a catalogue built with this model.

Completeness is the fraction of injected LSBGs that pass a stage; contamination is the fraction
of simulated artifacts (per subclass) that pass. Intervals are Wilson score intervals of the
binomial fraction; the surface brightness at which completeness falls to one half gets a
percentile bootstrap interval (:class:`deepshadows.evaluation.Interval`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from deepshadows._io import atomic_path
from deepshadows.metrics.binomial import binomial_interval
from deepshadows.metrics.bootstrap import Interval
from deepshadows.simulate.truth import AXES, Axis

__all__ = [
    "STAGES",
    "binned_completeness",
    "binomial_interval",
    "contamination_curves",
    "contamination_table",
    "mu_at_completeness",
    "write_table",
]

#: The selection stages, each a boolean column ``passed_<stage>`` of the per-object table.
STAGES: tuple[str, ...] = ("preselection", "classifier", "both")


def _fraction(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Return the fractions ``k / n`` of the bins, NaN where a bin is empty."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, k / np.maximum(n, 1), np.nan)


def _binned_passes(
    values: np.ndarray, passed: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the objects ``n`` and those passed ``k`` in each bin of ``values`` between ``edges``.

    Objects outside the edges, or whose pass flag was not measured (NaN), are left out.
    """
    index = np.digitize(values, edges) - 1
    ok = (index >= 0) & (index < len(edges) - 1) & np.isfinite(passed)
    n = np.bincount(index[ok], minlength=len(edges) - 1)
    k = np.bincount(index[ok], weights=passed[ok], minlength=len(edges) - 1)
    return n, k


def _stage_columns(table: Table, passed: Mapping[str, np.ndarray], n: np.ndarray, level: float) -> None:
    """Add ``k_<stage>``, ``<stage>`` and ``<stage>_low`` / ``_high`` columns to ``table``."""
    for stage, k in passed.items():
        low, high = binomial_interval(k, n, level)
        table[f"k_{stage}"] = k
        table[stage] = _fraction(k, n)
        table[f"{stage}_low"] = low
        table[f"{stage}_high"] = high


def _passed(objects: Table, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Return the pass flags of each stage for the masked rows (NaN where not measured)."""
    return {stage: np.asarray(objects[f"passed_{stage}"], dtype=float)[mask] for stage in STAGES}


def binned_completeness(objects: Table, axes: Sequence[str], *, level: float = 0.95) -> Table:
    """Completeness of every stage in the bins of one or two truth axes.

    Parameters
    ----------
    objects : astropy.table.Table
        Per-object table: ``kind``, the truth columns and ``passed_<stage>``.
    axes : sequence of str
        One or two names of :data:`deepshadows.simulate.truth.AXES`.
    level : float, optional
        Confidence level of the intervals.

    Returns
    -------
    astropy.table.Table
        One row per bin (per cell for two axes): ``<axis>_low``, ``<axis>_high``,
        ``<axis>_mid``, ``n``, then per stage ``k_<stage>``, ``<stage>``, ``<stage>_low`` and
        ``<stage>_high``. A stage that was not measured for some LSBGs (no i band) counts
        only those where it was.
    """
    chosen: list[Axis] = [AXES[a] for a in axes]
    lsbg = np.asarray(objects["kind"]) == "lsbg"
    index = []
    for axis in chosen:
        values = np.asarray(objects[axis.column], dtype=float)
        index.append(np.digitize(values, axis.edges) - 1)
    shape = tuple(len(a.edges) - 1 for a in chosen)
    inside = lsbg & np.all([(i >= 0) & (i < s) for i, s in zip(index, shape, strict=True)], axis=0)
    flat = np.ravel_multi_index([i[inside] for i in index], shape) if inside.any() else np.array([], int)
    n_cells = int(np.prod(shape))
    table = Table()
    for k, axis in enumerate(chosen):
        cell = np.unravel_index(np.arange(n_cells), shape)[k]
        table[f"{axis.name}_low"] = np.asarray(axis.edges[:-1])[cell]
        table[f"{axis.name}_high"] = np.asarray(axis.edges[1:])[cell]
        table[f"{axis.name}_mid"] = axis.centres[cell]
    passed = _passed(objects, inside)
    measured = {s: np.isfinite(v) for s, v in passed.items()}
    n = np.bincount(flat, minlength=n_cells)
    table["n"] = n
    counts = {}
    for stage, values in passed.items():
        ok = measured[stage]
        counts[stage] = np.bincount(flat[ok], weights=values[ok], minlength=n_cells).astype(np.int64)
        trials = np.bincount(flat[ok], minlength=n_cells)
        if not ok.all():  # some objects could not be measured: their trials are fewer
            table[f"n_{stage}"] = trials
    for stage, k in counts.items():
        trials = np.asarray(table[f"n_{stage}"]) if f"n_{stage}" in table.colnames else n
        _stage_columns(table, {stage: k}, trials, level)
    return table


def _crossing(mu: np.ndarray, passed: np.ndarray, edges: np.ndarray, level: float) -> float:
    """Return the faint-end surface brightness where the binned completeness falls through ``level``."""
    n, k = _binned_passes(mu, passed, edges)
    valid = n > 0
    centres = 0.5 * (edges[:-1] + edges[1:])[valid]
    c = k[valid] / n[valid]
    above = np.flatnonzero(c >= level)
    if not above.size or above[-1] == len(c) - 1:
        return float("nan")
    j = above[-1]
    return float(centres[j] + (c[j] - level) / (c[j] - c[j + 1]) * (centres[j + 1] - centres[j]))


def mu_at_completeness(
    objects: Table,
    r_eff: float,
    *,
    stage: str,
    level: float = 0.5,
    width: float = 0.15,
    n_boot: int = 200,
    seed: int = 0,
) -> Interval:
    """Mean surface brightness at which the completeness of a stage falls to ``level``.

    The LSBGs with ``|ln(R_eff / r_eff)| < ln(1 + width)`` are binned in surface brightness
    (the bins of the ``mu_eff`` axis); the value is the linear interpolation between the
    faintest bin at or above ``level`` and the next one. Its interval is the 2.5 and 97.5
    percentiles over bootstrap resamples of those LSBGs.

    Parameters
    ----------
    objects : astropy.table.Table
        Per-object table.
    r_eff : float
        Radius of the slice, arcsec.
    stage : str
        One of :data:`STAGES`.
    level : float, optional
        Completeness level (one half by default).
    width : float, optional
        Relative half width of the radius slice.
    n_boot : int, optional
        Bootstrap resamples.
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    deepshadows.evaluation.Interval
        Surface brightness in mag/arcsec^2; NaN when the completeness does not fall through
        ``level`` inside the grid (never above it, or still above it at the faint end).
    """
    radius = np.asarray(objects["r_eff"], dtype=float)
    keep = (np.asarray(objects["kind"]) == "lsbg") & (np.abs(np.log(radius / r_eff)) < np.log1p(width))
    mu = np.asarray(objects["mu_mean_g"], dtype=float)[keep]
    passed = np.asarray(objects[f"passed_{stage}"], dtype=float)[keep]
    edges = np.asarray(AXES["mu_eff"].edges)
    value = _crossing(mu, passed, edges, level)
    if not mu.size:
        return Interval(value, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    boot = np.array(
        [_crossing(mu[i], passed[i], edges, level) for i in rng.integers(0, mu.size, (n_boot, mu.size))]
    )
    boot = boot[np.isfinite(boot)]
    if boot.size < 0.5 * n_boot:
        return Interval(value, float("nan"), float("nan"))
    return Interval(value, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)))


def _groups(objects: Table) -> dict[str, np.ndarray]:
    """Masks of the artifact subclasses, all type-2 artifacts, and the bare real backgrounds."""
    kind = np.asarray(objects["kind"])
    subclass = np.asarray(objects["subclass"])
    groups = {str(s): (kind != "lsbg") & (subclass == s) for s in sorted(set(subclass[kind != "lsbg"]))}
    groups.pop("", None)
    if (kind == "type2").any():
        groups["type 2"] = kind == "type2"
    if (kind == "background").any():
        groups["background"] = kind == "background"
    return groups


def contamination_table(objects: Table, *, level: float = 0.95) -> Table:
    """Fraction of each artifact subclass that passes every stage.

    Parameters
    ----------
    objects : astropy.table.Table
        Per-object table: ``kind``, ``subclass`` and ``passed_<stage>``.
    level : float, optional
        Confidence level of the intervals.

    Returns
    -------
    astropy.table.Table
        One row per subclass (``A`` .. ``I``), then ``type 2`` (all type-2 artifacts) and, for
        injections into real cutouts, ``background`` (the real cutouts without an injection):
        ``group``, ``n``, and per stage ``k_<stage>``, ``<stage>``, ``<stage>_low``,
        ``<stage>_high``.
    """
    groups = _groups(objects)
    table = Table()
    table["group"] = list(groups)
    n_all = np.array([int(mask.sum()) for mask in groups.values()])
    table["n"] = n_all
    for stage in STAGES:
        k, n = [], []
        for mask in groups.values():
            values = np.asarray(objects[f"passed_{stage}"], dtype=float)[mask]
            ok = np.isfinite(values)
            k.append(int(values[ok].sum()))
            n.append(int(ok.sum()))
        _stage_columns(table, {stage: np.array(k)}, np.array(n), level)
    return table


def contamination_curves(objects: Table, thresholds: Sequence[float]) -> Table:
    """Fraction of each artifact group passing the classifier, and both stages, against the threshold.

    Parameters
    ----------
    objects : astropy.table.Table
        Per-object table with ``probability`` and ``passed_preselection``.
    thresholds : sequence of float
        Decision thresholds.

    Returns
    -------
    astropy.table.Table
        ``threshold``, then per group of :func:`contamination_table` the columns
        ``<group>_classifier`` and ``<group>_both``, plus ``lsbg_classifier`` and
        ``lsbg_both`` (the completeness of the injected LSBGs at the same thresholds).
    """
    prob = np.asarray(objects["probability"], dtype=float)
    pre = np.asarray(objects["passed_preselection"], dtype=float)
    groups = {"lsbg": np.asarray(objects["kind"]) == "lsbg", **_groups(objects)}
    t = np.asarray(thresholds, dtype=float)
    table = Table({"threshold": t})
    for name, mask in groups.items():
        if not mask.any():
            continue
        passes = prob[mask][None, :] >= t[:, None]
        table[f"{name}_classifier"] = passes.mean(axis=1)
        with np.errstate(invalid="ignore"):
            both = passes & (pre[mask][None, :] == 1)
            table[f"{name}_both"] = np.where(np.isfinite(pre[mask]).any(), both.mean(axis=1), np.nan)
    return table


def write_table(table: Table, out_dir: str | os.PathLike[str], stem: str) -> list[Path]:
    """Write a table as ``<stem>.csv`` and ``<stem>.fits`` in ``out_dir``, atomically.

    Parameters
    ----------
    table : astropy.table.Table
        The table.
    out_dir : path-like
        Existing folder.
    stem : str
        File name without suffix.

    Returns
    -------
    list of pathlib.Path
        The CSV and FITS files.
    """
    paths = []
    for suffix, fmt in ((".csv", "ascii.csv"), (".fits", "fits")):
        path = Path(out_dir) / f"{stem}{suffix}"
        with atomic_path(path) as tmp:
            table.write(tmp, format=fmt, overwrite=True)
        paths.append(path)
    return paths
