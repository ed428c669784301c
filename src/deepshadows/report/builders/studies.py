"""Sections of the uncertainty studies: repeated splits, label noise and bootstrapped training sets.

They read what :func:`deepshadows.studies.run_study` wrote: ``study.json`` (``kind``, ``config``,
``runs``, ``provenance``), ``results.csv`` (one row per run), for the training-set bootstrap
``intervals.csv``, figures, and ``runs/<name>/`` with one training run and its evaluation per
job. The results table already summarises the runs, so they are counted, not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepshadows.report._reading import (
    FolderReader,
    bounds_cell,
    flatten,
    fmt,
    interval_cell,
    mapping_table,
    records_table,
)
from deepshadows.report.builders.evaluation import METRIC_TITLES
from deepshadows.report.content import Section, Table

__all__ = ["STUDY_KINDS", "build_study"]

#: What each kind of study varies, for the section's first line.
STUDY_KINDS = {
    "splits": "the model retrained on random training/validation/test splits of other seeds "
    "(section 6.2, Table 5, Fig. 8a)",
    "label-noise": "the model retrained with a fraction of the training labels flipped at random "
    "(section 6.3, Table 6, Figs. 8b and 9)",
    "bootstrap-train": "the model retrained on bootstrap resamples of the training set "
    "(the extension proposed in section 7)",
}

_STUDY_FIGURES = (
    ("roc_curves.png", "ROC curves of all runs (Fig. 8)"),
    ("tpr_ratio.png", "True-positive rate of each run relative to the reference run (Fig. 9)"),
    ("intervals.png", "Metrics and their intervals per run"),
)


def _intervals_table(rows: list[dict[str, str]]) -> Table:
    """Test-set against training-set intervals of a training-set bootstrap (``intervals.csv``)."""
    body = [
        [
            METRIC_TITLES.get(row.get("metric", ""), row.get("metric", "")),
            interval_cell(row.get("value")),
            bounds_cell(row.get("test_low"), row.get("test_high")),
            bounds_cell(row.get("train_low"), row.get("train_high")),
            interval_cell(row.get("combined_half_width")),
        ]
        for row in rows
    ]
    return Table(
        columns=["metric", "baseline", "test-set interval", "training interval", "combined ±"],
        rows=body,
        caption="Test-set against training-set uncertainty (half-widths added in quadrature)",
    )


def _run_counts(folder: Path, planned: Any) -> tuple[int, int]:
    """Return the numbers of runs planned (by ``study.json``, else found) and finished."""
    runs = folder / "runs"
    found = sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []
    finished = sum((p / "result.json").is_file() for p in found)
    return (len(planned) if isinstance(planned, list) else len(found)), finished


def build_study(reader: FolderReader, section: Section) -> None:
    """Fill a study section: what varies, its configuration, the results table and the figures.

    A study whose runs are not all finished gets a note instead of a missing-file warning.

    Parameters
    ----------
    reader : FolderReader
        Reads the study folder (``study.json``, ``results.csv``, ``intervals.csv`` and the
        figures); problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    study = reader.json("study.json") or {}
    kind = study.get("kind")
    if kind is not None:
        section.facts.append(("study", fmt(kind)))
    if kind in STUDY_KINDS:
        section.notes.append(f"{fmt(kind)}: {STUDY_KINDS[kind]}.")
    for key in ("store", "executor"):
        if study.get(key) is not None:
            section.facts.append((key, fmt(study[key])))
    planned, finished = _run_counts(reader.folder, study.get("runs"))
    if planned:
        section.facts.append(("runs", f"{planned} ({finished} finished)"))
        section.notes.append(
            "The runs under runs/ (a training run and its test evaluation each) are summarised by the "
            "results table and not listed one by one."
        )
    config = study.get("config")
    if isinstance(config, Mapping) and config:
        section.tables.append(mapping_table(flatten(config), "Study configuration"))
        section.configuration = dict(config)
    if isinstance(study.get("provenance"), Mapping):
        section.recorded = dict(study["provenance"])
    unfinished = finished < planned and not reader.has("results.csv")
    if unfinished:
        section.notes.append(
            f"Unfinished: {finished} of {planned} runs are done, so the results table and figures are "
            "not written yet (resume the study to complete it)."
        )
    rows = reader.csv("results.csv", required=not unfinished)
    if rows:
        section.tables.append(records_table(rows, "Results: one row per run"))
    intervals = reader.csv("intervals.csv", required=False)
    if intervals:
        section.tables.append(_intervals_table(intervals))
    reader.used.update({"results.md", "intervals.md"})
    section.figures += reader.figures(_STUDY_FIGURES)
