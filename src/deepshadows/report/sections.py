"""The registry of section builders: which folder kind is recognised by which marker files.

Each :class:`SectionBuilder` recognises one kind of output folder by the files in it and fills a
:class:`~deepshadows.report.content.Section` from them. :data:`BUILDERS` is tried in order and
the first match claims the folder, so more specific kinds come first (a baselines folder and a
training run both hold ``config.json``). To report a new kind of output, add a builder here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deepshadows.report._reading import FolderReader
from deepshadows.report.builders.completeness import build_completeness
from deepshadows.report.builders.data import build_data_summary
from deepshadows.report.builders.evaluation import (
    build_baselines,
    build_comparison,
    build_evaluation,
    is_baselines,
)
from deepshadows.report.builders.runs import build_explain, build_training_run, build_transfer
from deepshadows.report.builders.studies import build_study
from deepshadows.report.content import Section

__all__ = ["BUILDERS", "SectionBuilder", "find_builder", "has_files"]


def has_files(*names: str) -> Callable[[Path], bool]:
    """Return a test that a folder holds every one of ``names``.

    Parameters
    ----------
    *names : str
        File names, relative to the folder tested.

    Returns
    -------
    callable
        ``test(folder) -> bool``: whether every name is a file in ``folder``.
    """

    def test(folder: Path) -> bool:
        return all((folder / name).is_file() for name in names)

    test.__doc__ = f"Whether the folder holds {', '.join(names)}."
    return test


@dataclass(frozen=True)
class SectionBuilder:
    """How to recognise and describe one kind of output folder.

    Parameters
    ----------
    kind : str
        Short name of the kind, e.g. ``"training run"``.
    title : str
        Heading prefix of its sections, e.g. ``"Training run"``.
    markers : str
        The files that identify the kind, in words (for documentation and messages).
    matches : callable
        ``matches(folder) -> bool``: whether a folder is of this kind.
    build : callable
        ``build(reader, section)``: fills ``section`` from the files read through ``reader``
        (a :class:`~deepshadows.report._reading.FolderReader`, which turns problems into
        warnings of the section).
    covers : tuple of str, optional
        Sub-folders that the section already summarises; they are not visited on their own.
    child_order : tuple of str, optional
        Sub-folders whose sections come first, in this order (the others follow by name).
    """

    kind: str
    title: str
    markers: str
    matches: Callable[[Path], bool]
    build: Callable[[FolderReader, Section], None]
    covers: tuple[str, ...] = ()
    child_order: tuple[str, ...] = ()


#: Builders in the order they are tried; the first whose ``matches`` is true claims the folder.
BUILDERS: tuple[SectionBuilder, ...] = (
    SectionBuilder(
        "study", "Uncertainty study", "study.json", has_files("study.json"), build_study, covers=("runs",)
    ),
    SectionBuilder(
        "transfer",
        "Transfer",
        "transfer.json",
        has_files("transfer.json"),
        build_transfer,
        child_order=("before", "after"),
    ),
    SectionBuilder(
        "baselines", "Baselines", "config.json and svm/ or rf/ model folders", is_baselines, build_baselines
    ),
    SectionBuilder(
        "training run",
        "Training run",
        "config.json and history.csv",
        has_files("config.json", "history.csv"),
        build_training_run,
    ),
    SectionBuilder(
        "comparison", "Model comparison", "comparison.csv", has_files("comparison.csv"), build_comparison
    ),
    SectionBuilder("evaluation", "Evaluation", "metrics.json", has_files("metrics.json"), build_evaluation),
    SectionBuilder(
        "completeness",
        "Completeness",
        "completeness.json",
        has_files("completeness.json"),
        build_completeness,
    ),
    SectionBuilder("explain", "Grad-CAM galleries", "explain.json", has_files("explain.json"), build_explain),
    SectionBuilder(
        "data set", "Data set summary", "summary.json", has_files("summary.json"), build_data_summary
    ),
)


def find_builder(folder: Path, builders: tuple[SectionBuilder, ...] = BUILDERS) -> SectionBuilder | None:
    """Return the first builder that recognises ``folder``, or None.

    Parameters
    ----------
    folder : pathlib.Path
        The folder to recognise.
    builders : tuple of SectionBuilder, optional
        Builders to try, in order (default: :data:`BUILDERS`).

    Returns
    -------
    SectionBuilder or None
        The first builder whose ``matches(folder)`` is true; None when no kind is recognised.
    """
    return next((b for b in builders if b.matches(folder)), None)
