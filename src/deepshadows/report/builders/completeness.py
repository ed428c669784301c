"""Section of a completeness run: the selection function of a model and the contamination.

It reads what :func:`deepshadows.completeness.run_completeness` wrote: ``completeness.json``
(configuration, the surface brightness of 50 % completeness per radius, the contamination at
the threshold, timing, provenance), ``contamination.csv`` and the figures. The large per-object
and per-bin tables (CSV and FITS) are listed, not shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from deepshadows.report._reading import FolderReader, flatten, fmt, interval_cell, mapping_table
from deepshadows.report.content import Section, Table

__all__ = ["build_completeness"]

_STAGES = ("preselection", "classifier", "both")
_FIGURES = (
    ("completeness_map.png", "Completeness in the mean surface brightness - radius plane (white: 50 %)"),
    ("completeness_mu_by_size.png", "Completeness against surface brightness at fixed radius"),
    ("completeness_marginals.png", "Completeness against each truth parameter, 95 % binomial intervals"),
    ("contamination.png", "Fraction of each artifact subclass passing, against the decision threshold"),
)


def _mu_table(mu_at_half: Mapping[str, Mapping[str, Mapping[str, float]]]) -> Table:
    rows = [
        [radius]
        + [
            interval_cell(
                stages.get(s, {}).get("value"), stages.get(s, {}).get("low"), stages.get(s, {}).get("high"), 2
            )
            if stages.get(s, {}).get("value") is not None
            else "not reached in the grid"
            for s in _STAGES
        ]
        for radius, stages in mu_at_half.items()
    ]
    return Table(
        columns=["R_eff", *_STAGES],
        rows=rows,
        caption="Mean g surface brightness (mag/arcsec²) where completeness falls to 50 %, "
        "with 95 % bootstrap intervals",
    )


def _contamination_table(rows: list[dict[str, str]]) -> Table:
    body = [
        [row.get("group", ""), row.get("n", "")]
        + [interval_cell(row.get(s), row.get(f"{s}_low"), row.get(f"{s}_high")) for s in _STAGES]
        for row in rows
    ]
    return Table(
        columns=["artifacts", "n", *_STAGES],
        rows=body,
        caption="Fraction of each simulated artifact subclass that passes, at the model's threshold "
        "(95 % Wilson intervals); background: the real cutouts without an injection",
    )


def build_completeness(reader: FolderReader, section: Section) -> None:
    """Fill a completeness section: facts, the 50 % surface brightness, contamination and figures.

    Parameters
    ----------
    reader : FolderReader
        Reads the run's folder; problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    summary = reader.json("completeness.json") or {}
    config = summary.get("config") or {}
    for key, value in (
        ("model", summary.get("model")),
        ("survey", config.get("survey")),
        ("injected into", config.get("into") or "simulated fields"),
        ("threshold", summary.get("threshold")),
        ("probabilities", summary.get("probabilities")),
        ("objects", summary.get("counts")),
    ):
        if value is not None:
            section.facts.append((key, fmt(value)))
    timing = summary.get("timing") or {}
    if timing.get("objects_per_s") is not None:
        section.facts.append(
            ("rate", f"{fmt(timing['objects_per_s'])} objects/s ({fmt(timing.get('elapsed_s'))} s)")
        )
    section.notes.append(
        "Completeness: the fraction of injected LSBGs that pass the catalogue preselection, the "
        "classifier, and both; contamination: the same fractions for simulated artifacts."
    )
    if isinstance(summary.get("mu_at_half"), Mapping) and summary["mu_at_half"]:
        section.tables.append(_mu_table(summary["mu_at_half"]))
    rows = reader.csv("contamination.csv", required=False)
    if rows:
        section.tables.append(_contamination_table(rows))
    if config:
        section.tables.append(mapping_table(flatten(config), "Run configuration"))
        section.configuration = dict(config)
    if isinstance(summary.get("provenance"), Mapping):
        section.recorded = dict(summary["provenance"])
    reader.used.update(str(name) for name in summary.get("files", []))
    section.figures += reader.figures(_FIGURES)
