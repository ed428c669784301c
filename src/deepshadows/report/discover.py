"""Walk the paths given to the report and build one section per recognised folder or file.

Every folder is visited once, depth first. A folder that a builder recognises becomes a section
and the sections of its sub-folders become its children (a training run holds its evaluation and
its Grad-CAM galleries). Around the builders, nothing the user passed is dropped silently:

* images in a recognised folder that its builder did not show are appended to its section;
* a folder nobody recognises but that holds images gets a generic section of figures;
* prediction CSVs are recognised by their header, wherever they lie (after the sub-folders);
* a path in which nothing is recognised gets a section that says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from deepshadows.errors import InputError
from deepshadows.report._reading import IMAGE_SUFFIXES, FolderReader, image_file_figure
from deepshadows.report.builders.data import build_predictions, is_predictions_csv
from deepshadows.report.content import Section
from deepshadows.report.sections import BUILDERS, SectionBuilder, find_builder

__all__ = ["collect_sections"]

#: Exceptions a builder raises on a file of the right name but of unexpected content, or on a
#: sub-folder it cannot list.
_CONTENT_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError)


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "__"))


class _Walk:
    """State of one walk: the builders, the folders already visited and the label root."""

    def __init__(self, builders: tuple[SectionBuilder, ...]) -> None:
        self.builders = builders
        self.seen: set[Path] = set()
        self.base = Path()

    def label(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.base).as_posix()
        except ValueError:
            return path.name

    def visit(self, path: Path) -> list[Section]:
        real = path.resolve()
        if real in self.seen:
            return []
        self.seen.add(real)
        if path.is_file():
            return self.file(path)
        return self.folder(path)

    def file(self, path: Path) -> list[Section]:
        if is_predictions_csv(path):
            section = Section("predictions", f"Predictions: {self.label(path)}", path)
            build_predictions(path, section)
            return [section]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            section = Section("figures", f"Figure: {self.label(path)}", path)
            try:
                section.figures.append(image_file_figure(path))
            except (OSError, ValueError) as exc:
                section.warnings.append(f"{path.name}: {exc}")
            return [section]
        return []

    def recognised(self, path: Path, reader: FolderReader) -> tuple[Section | None, SectionBuilder | None]:
        """Build the section of the first builder that recognises the folder, if any."""
        builder = find_builder(path, self.builders)
        if builder is None:
            return None, None
        section = Section(
            builder.kind, f"{builder.title}: {self.label(path)}", path, warnings=reader.warnings
        )
        try:
            builder.build(reader, section)
        except _CONTENT_ERRORS as exc:
            reader.warnings.append(f"unexpected content for a {builder.kind} ({type(exc).__name__}: {exc})")
        return section, builder

    def folder(self, path: Path) -> list[Section]:
        reader = FolderReader(path, [])
        section, builder = self.recognised(path, reader)
        try:
            entries = sorted((p for p in path.iterdir() if _visible(p)), key=lambda p: p.name)
            extra = reader.other_figures()
        except OSError as exc:
            entries, extra = [], []
            reader.warnings.append(f"cannot list the folder ({exc.strerror or exc})")
        if section is None and (extra or reader.warnings):
            section = Section("figures", f"Figures: {self.label(path)}", path, warnings=reader.warnings)
        if section is not None:
            section.figures += extra
        first = builder.child_order if builder is not None else ()
        entries.sort(key=lambda p: first.index(p.name) if p.name in first else len(first))
        # Loose CSV files may be predictions; sub-folders a builder covers are summarised already.
        files = [
            p for p in entries if p.suffix.lower() == ".csv" and p.is_file() and p.name not in reader.used
        ]
        folders = [p for p in entries if p.is_dir() and p.name not in (builder.covers if builder else ())]
        children = [s for p in [*folders, *files] for s in self.visit(p)]
        if section is None:
            return children
        section.children += children
        return [section]


def collect_sections(
    paths: Iterable[str | os.PathLike[str]], *, builders: tuple[SectionBuilder, ...] = BUILDERS
) -> list[Section]:
    """Return the sections of everything recognised under ``paths``.

    Parameters
    ----------
    paths : iterable of path-like
        Folders (walked recursively) and files (prediction CSVs, images).
    builders : tuple of SectionBuilder, optional
        The recognisers to try, in order (default: :data:`deepshadows.report.sections.BUILDERS`).

    Returns
    -------
    list of Section
        Top-level sections in the order of ``paths``, with nested children. A path in which
        nothing was recognised yields a section holding one warning that says so; a path
        already covered by an earlier one yields nothing.

    Raises
    ------
    deepshadows.errors.InputError
        If no path is given or a path does not exist.
    """
    roots = [Path(p) for p in paths]
    if not roots:
        raise InputError("paths: give at least one run folder, data-set summary or predictions file")
    for root in roots:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
    walk = _Walk(builders)
    sections: list[Section] = []
    for root in roots:
        walk.base = root.resolve().parent
        if root.resolve() in walk.seen:
            continue
        found = walk.visit(root)
        if not found:
            found = [
                Section(
                    "unrecognised",
                    f"Not recognised: {walk.label(root)}",
                    root,
                    warnings=[
                        "nothing recognised here: no run, evaluation, data-set summary, study, "
                        "predictions file or image"
                    ],
                )
            ]
        sections += found
    return sections
