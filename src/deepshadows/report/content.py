"""What a report is made of: sections holding facts, tables, figures and warnings.

Builders (:mod:`deepshadows.report.sections`) fill these plain containers from the files of one
folder; :mod:`deepshadows.report.render` turns them into HTML. Every text is stored as written
in the files and escaped only when rendered, so a builder never produces markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Section", "Table"]


@dataclass
class Table:
    """A table of already formatted cells.

    Parameters
    ----------
    columns : list of str
        Column titles.
    rows : list of list of str
        One list of cell texts per row, as long as ``columns``.
    caption : str, optional
        Text shown above the table.
    flagged : list of bool, optional
        Rows to highlight (e.g. a calibration statistic outside the real range); same length as
        ``rows`` when given.
    """

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    flagged: list[bool] = field(default_factory=list)


@dataclass
class Figure:
    """An image embedded in the page.

    Parameters
    ----------
    title : str
        Short name shown under the image (usually the file name).
    src : str
        A ``data:image/png;base64,...`` URI.
    caption : str, optional
        One line of explanation.
    width : int, optional
        Width of the image in pixels; pages show it at two thirds of that (images are drawn at
        110 dpi, the page at about 73), never wider than the page.
    """

    title: str
    src: str
    caption: str = ""
    width: int | None = None


@dataclass
class Section:
    """One recognised folder or file, with its nested sub-sections.

    Parameters
    ----------
    kind : str
        Name of the builder that recognised it (``"training run"``, ``"evaluation"``, ...).
    title : str
        Heading, also used in the table of contents.
    path : pathlib.Path or None
        The folder or file it describes.
    facts : list of (str, str)
        Key/value lines shown first.
    notes : list of str
        Paragraphs of plain text.
    tables, figures : list
        :class:`Table` and :class:`Figure` objects, in display order.
    warnings : list of str
        Problems met while reading (a corrupt or missing file); shown prominently.
    recorded : dict or None
        What the run recorded about how it was made: ``created_utc``, ``platform`` and
        ``versions`` (package to version), any of them possibly missing.
    configuration : dict or None
        The run's recorded configuration, shown verbatim at the bottom of the page.
    children : list of Section
        Sections of sub-folders (e.g. a training run's evaluation).
    anchor : str
        HTML id of the section, assigned when the report is assembled.
    """

    kind: str
    title: str
    path: Path | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recorded: dict[str, Any] | None = None
    configuration: dict[str, Any] | None = None
    children: list[Section] = field(default_factory=list)
    anchor: str = ""

    def walk(self) -> list[Section]:
        """Return this section and all its descendants, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out
