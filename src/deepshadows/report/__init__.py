"""One self-contained HTML page gathering runs, evaluations, data sets, studies and predictions.

:func:`write_report` walks the given paths, recognises each output folder by its marker files
(see :data:`~deepshadows.report.sections.BUILDERS`), and writes a page with a table of contents,
one section per recognised folder (facts, tables, embedded figures, warnings for unreadable
files), and the configurations and package versions at the bottom. A new kind of output is
supported by adding a :class:`SectionBuilder` (marker files and a function that fills a
:class:`Section` through a :class:`FolderReader`) to the registry. From a notebook::

    from deepshadows.report import write_report
    write_report(["runs/des", "runs/baselines", "data/des_summary"], "report.html")
"""

from __future__ import annotations

from deepshadows.report._reading import FolderReader
from deepshadows.report.build import DEFAULT_TITLE, build_report, write_report
from deepshadows.report.content import Figure, Section, Table
from deepshadows.report.discover import collect_sections
from deepshadows.report.sections import BUILDERS, SectionBuilder

__all__ = [
    "BUILDERS",
    "DEFAULT_TITLE",
    "Figure",
    "FolderReader",
    "Section",
    "SectionBuilder",
    "Table",
    "build_report",
    "collect_sections",
    "write_report",
]
