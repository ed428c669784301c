"""Sections of data-set summaries and of prediction CSV files.

They read what :func:`deepshadows.inspection.inspect_store` and :func:`deepshadows.predict.predict`
wrote.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.classes import SUBCLASS_NAMES, TYPE1_SUBCLASSES
from deepshadows.domain.realism import format_statistic
from deepshadows.domain.realism_compare import COMPARISON_COLUMNS
from deepshadows.prediction_schema import is_probability, is_uncalibrated, read_as_current
from deepshadows.report._plots import probability_histogram_png
from deepshadows.report._reading import FolderReader, embed_image, fmt, to_float
from deepshadows.report.content import Section, Table

__all__ = ["build_data_summary", "build_predictions", "is_predictions_csv"]

_SUMMARY_FIGURES = (
    ("contact_sheet.png", "Examples of every class and artifact subclass"),
    ("features.png", "Distributions of the catalogue features per class"),
    ("calibration.png", "Cutout statistics of the simulated set against real cutouts"),
)


def _counts_table(counts: Mapping[str, Mapping[str, Any]]) -> Table:
    kinds = sorted({k for row in counts.values() for k in row if k != "total"})
    rows = [
        [str(split), *(fmt(row.get(k, 0)) for k in kinds), fmt(row.get("total"))]
        for split, row in counts.items()
    ]
    return Table(columns=["split", *kinds, "total"], rows=rows, caption="Objects per split and class")


def _subclass_table(subclasses: Mapping[str, Any]) -> Table:
    rows = []
    for key, n in sorted(subclasses.items()):
        kind = "type 1" if key in TYPE1_SUBCLASSES else "type 2"
        rows.append([str(key), kind if key in SUBCLASS_NAMES else "–", SUBCLASS_NAMES.get(key, "–"), fmt(n)])
    return Table(
        columns=["subclass", "kind", "description", "objects"], rows=rows, caption="Artifact subclasses"
    )


def _calibration_number(row: Mapping[str, Any], key: str) -> str:
    """Format a calibration value as ``calibration.md`` does: fractions .3f, display units .1f."""
    x = to_float(row.get(key))
    if x is None:
        return "–"
    return format_statistic(str(row.get("statistic")), x)


def _calibration_table(rows: Sequence[Mapping[str, Any]], reference: str) -> Table:
    body, flagged = [], []
    for r in rows:
        sim, p16, p84, real, low, high = (
            _calibration_number(r, k)
            for k in ("sim_median", "sim_p16", "sim_p84", "real_median", "real_low", "real_high")
        )
        body.append(
            [
                fmt(r.get("class")),
                fmt(r.get("statistic")),
                fmt(r.get("channel")),
                f"{sim} [{p16}, {p84}]",
                real,
                f"[{low}, {high}]",
                fmt(r.get("basis")),
                fmt(r.get("within")),
            ]
        )
        flagged.append(r.get("within") is False)
    inside = sum(1 for r in rows if r.get("within") is True)
    return Table(
        columns=list(COMPARISON_COLUMNS),
        rows=body,
        caption=f"Calibration against real {reference} cutouts: {inside} of {len(rows)} statistics within "
        "the real range (highlighted rows lie outside)",
        flagged=flagged,
    )


def build_data_summary(reader: FolderReader, section: Section) -> None:
    """Fill a data-set section: counts, subclasses, calibration against real cutouts, figures.

    Parameters
    ----------
    reader : FolderReader
        Reads the summary folder (``summary.json`` and the figures of
        :func:`deepshadows.inspection.inspect_store`); problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    summary = reader.json("summary.json")
    if summary is not None:
        shape = summary.get("image_shape")
        section.facts += [
            ("store", fmt(summary.get("path"))),
            ("survey", fmt(summary.get("survey"))),
            ("objects", fmt(summary.get("n"))),
            ("cutout shape", " x ".join(map(str, shape)) if isinstance(shape, list) else fmt(shape)),
            ("split fractions", fmt(summary.get("split_fractions"))),
            ("split seed", fmt(summary.get("split_seed"))),
            ("true labels", fmt(summary.get("has_truth"))),
            ("catalogue features", fmt(summary.get("has_features"))),
        ]
        section.facts = [(k, v) for k, v in section.facts if v != "–"]
        if isinstance(summary.get("counts"), Mapping) and summary["counts"]:
            section.tables.append(_counts_table(summary["counts"]))
        if isinstance(summary.get("subclasses"), Mapping) and summary["subclasses"]:
            section.tables.append(_subclass_table(summary["subclasses"]))
        rows = summary.get("calibration") or []
        if rows:
            section.tables.append(_calibration_table(rows, fmt(summary.get("calibration_reference"))))
    reader.used.add("calibration.md")
    section.figures += reader.figures(_SUMMARY_FIGURES)


def _probability_columns(header: Sequence[str]) -> tuple[list[int], list[str]]:
    """Return the positions of the probability columns the labels are based on, and old names among them.

    Those are ``probability`` or ``prob_<class>`` (by an earlier version's name
    ``calibrated_probability``, ``calibrated_prob_<class>``), not their ``_uncalibrated`` values.
    """
    current, legacy = read_as_current(header)
    picks = [i for i, name in enumerate(current) if is_probability(name) and not is_uncalibrated(name)]
    return picks, legacy


def is_predictions_csv(path: Path) -> bool:
    """Whether ``path`` is a CSV written by ``deepshadows predict`` (judged by its header line).

    Parameters
    ----------
    path : pathlib.Path
        Any file.

    Returns
    -------
    bool
        True for a readable ``.csv`` file whose header starts with ``id`` and has a ``label``
        column and either one ``probability`` column or ``prob_<class>`` columns (or their
        names in earlier versions, ``calibrated_probability``, ``calibrated_prob_<class>``).
        Other columns (``probability_uncalibrated``, ``uncertainty``, ``ra``...) may follow.
    """
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    names = [read_as_current(header)[0][i] for i in _probability_columns(header)[0]]
    binary = names == ["probability"]
    return (
        len(header) >= 3
        and header[0] == "id"
        and "label" in header
        and bool(names)
        and (binary or all(n.startswith("prob_") for n in names))
    )


def _read_predictions(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the header, the probability columns the labels are based on (n, k) and the labels."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        picks, _ = _probability_columns(header)
        at = header.index("label")
        probs: list[float] = []
        labels: list[int] = []
        for row in reader:
            if len(row) != len(header):
                raise ValueError(f"line {reader.line_num}: {len(row)} columns, expected {len(header)}")
            probs.extend(float(row[i]) for i in picks)
            labels.append(int(row[at]))
    prob = np.asarray(probs, dtype=np.float64).reshape(-1, len(picks))
    return header, prob, np.asarray(labels, dtype=np.int64)


def build_predictions(path: Path, section: Section) -> None:
    """Fill a predictions section: rows, fraction classified as LSBG and a probability histogram.

    A file that cannot be read adds a warning to the section instead of raising. A file with an
    earlier version's column names (``calibrated_probability``) is read as today's, with a note.

    Parameters
    ----------
    path : pathlib.Path
        A CSV file for which :func:`is_predictions_csv` is true.
    section : Section
        The section to fill, in place.
    """
    try:
        header, prob, labels = _read_predictions(path)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, StopIteration) as exc:
        section.warnings.append(f"{path.name}: cannot be read ({exc})")
        return
    picks, legacy = _probability_columns(header)
    if legacy:
        old, new = ", ".join(legacy), ", ".join(read_as_current(legacy)[0])
        section.notes.append(f"{path.name}: column {old} (an earlier version's name) read as {new}")
    calibrated = bool(legacy) or any(is_uncalibrated(name) for name in header)
    names = [read_as_current(header)[0][i].removeprefix("prob_") for i in picks]
    lsbg = (
        0 if names == ["probability"] else next((i for i, n in enumerate(names) if n.lower() == "lsbg"), None)
    )
    section.facts.append(("rows", str(labels.size)))
    section.facts.append(("probabilities", "calibrated" if calibrated else "uncalibrated"))
    if labels.size == 0:
        return
    if names != ["probability"]:
        section.facts.append(("classes", ", ".join(names)))
        shares = [f"{n} {np.mean(labels == i):.3f}" for i, n in enumerate(names)]
        section.facts.append(("fraction predicted per class", ", ".join(shares)))
    if lsbg is None:
        return
    p = prob[:, lsbg]
    predicted = labels == (1 if names == ["probability"] else lsbg)
    section.facts += [
        ("fraction predicted LSBG", f"{predicted.mean():.3f} ({int(predicted.sum())} of {labels.size})"),
        ("mean LSBG probability", f"{p.mean():.3f}"),
    ]
    section.figures.append(
        embed_image(
            path.name,
            probability_histogram_png(p, xlabel="P(LSBG)", threshold=None),
            "Distribution of the predicted LSBG probability (drawn by the report)",
        )
    )
