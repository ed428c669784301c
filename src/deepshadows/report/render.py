"""Render sections as one self-contained HTML page with jinja2.

All text from the files is escaped by jinja2's autoescaping; images are ``data:`` URIs and the
style sheet is inline. A Content-Security-Policy in the page forbids every fetch other than those
inline images, so the page works offline and cannot call anything outside it.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from deepshadows.report._reading import fmt
from deepshadows.report.content import Section, Table

__all__ = ["render_report", "versions_table"]


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("deepshadows.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _versions_of(section: Section) -> dict[str, str]:
    versions = (section.recorded or {}).get("versions")
    return {str(k): str(v) for k, v in versions.items()} if isinstance(versions, Mapping) else {}


def versions_table(report_versions: Mapping[str, str], sections: Sequence[Section]) -> Table:
    """Return package versions of the report and of every run that recorded them.

    Runs that recorded the same versions share a column. Rows in which a run's version differs
    from the report's are flagged.

    Parameters
    ----------
    report_versions : mapping of str to str
        Versions of the running installation (``provenance()["versions"]``).
    sections : sequence of Section
        All sections (flattened); those without recorded versions are skipped.

    Returns
    -------
    Table
        Columns ``package``, ``this report`` and one per distinct set of recorded versions.
    """
    groups: list[tuple[dict[str, str], list[str]]] = []
    for section in sections:
        versions = _versions_of(section)
        if not versions:
            continue
        for known, titles in groups:
            if known == versions:
                titles.append(section.title)
                break
        else:
            groups.append((versions, [section.title]))
    packages = list(report_versions)
    packages += sorted({p for versions, _ in groups for p in versions} - set(packages))
    rows, flagged = [], []
    for package in packages:
        mine = report_versions.get(package, "–")
        theirs = [versions.get(package, "–") for versions, _ in groups]
        rows.append([package, mine, *theirs])
        flagged.append(any(v not in ("–", mine) for v in theirs))
    columns = ["package", "this report", *("recorded by " + "; ".join(titles) for _, titles in groups)]
    return Table(
        columns=columns,
        rows=rows,
        caption="Package versions (highlighted: a run recorded another version than the report's)",
        flagged=flagged,
    )


def _recorded_table(sections: Sequence[Section]) -> Table:
    rows = [
        [s.title, fmt((s.recorded or {}).get("created_utc")), fmt((s.recorded or {}).get("platform"))]
        for s in sections
        if s.recorded
    ]
    return Table(
        columns=["section", "created (UTC)", "platform"], rows=rows, caption="When and where runs were made"
    )


def _summary(sections: Sequence[Section]) -> str:
    counts = Counter(s.kind for s in sections)
    return ", ".join(f"{n} × {kind}" for kind, n in counts.items())


def render_report(
    sections: Sequence[Section],
    *,
    title: str,
    inputs: Sequence[str],
    provenance: Mapping[str, Any],
) -> str:
    """Return the HTML page of ``sections``.

    Parameters
    ----------
    sections : sequence of Section
        Top-level sections (with nested children); their anchors are assigned here.
    title : str
        Page title.
    inputs : sequence of str
        The paths the report was made from, as given.
    provenance : mapping
        :func:`deepshadows._provenance.provenance` of the process writing the report.

    Returns
    -------
    str
        The complete page.
    """
    flat = [s for top in sections for s in top.walk()]
    for i, section in enumerate(flat, start=1):
        section.anchor = f"section-{i}"
    configurations = [
        (s, json.dumps(s.configuration, indent=2, sort_keys=True, default=str))
        for s in flat
        if s.configuration
    ]
    report_versions = {str(k): str(v) for k, v in (provenance.get("versions") or {}).items()}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            sections=sections,
            flagged=[s for s in flat if s.warnings],
            summary=_summary(flat),
            inputs=list(inputs),
            provenance=provenance,
            jinja2_version=jinja2.__version__,
            versions=versions_table(report_versions, flat),
            recorded=_recorded_table(flat),
            configurations=configurations,
        )
    )
