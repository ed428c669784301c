"""Assemble the report from paths and write it atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from deepshadows._io import atomic_path
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.report.content import Section
from deepshadows.report.discover import collect_sections
from deepshadows.report.render import render_report
from deepshadows.report.sections import BUILDERS

__all__ = ["DEFAULT_TITLE", "build_report", "looked_for", "write_report"]

#: Page title used when none is given.
DEFAULT_TITLE = "DeepShadows report"


def build_report(paths: Iterable[str | os.PathLike[str]], *, title: str | None = None) -> str:
    """Return one self-contained HTML page describing every output found under ``paths``.

    Parameters
    ----------
    paths : iterable of path-like
        Run folders, evaluation folders, data-set summaries, studies, prediction CSVs, images,
        or folders holding any of them (walked recursively).
    title : str, optional
        Page title (default :data:`DEFAULT_TITLE`).

    Returns
    -------
    str
        The HTML page, with figures embedded as ``data:`` URIs and the style sheet inline.

    Raises
    ------
    deepshadows.errors.InputError
        If no path is given or a path does not exist. Unreadable or corrupt files inside a
        recognised folder do not raise; they appear as warnings of their section.
    """
    paths = [Path(p) for p in paths]
    return _render(collect_sections(paths), paths, title)


def _render(sections: list[Section], paths: Sequence[Path], title: str | None) -> str:
    return render_report(
        sections, title=title or DEFAULT_TITLE, inputs=[str(p) for p in paths], provenance=provenance()
    )


def looked_for() -> str:
    """Return what the report recognises, in words: each kind of folder with its marker files.

    Returns
    -------
    str
        For example ``"study (study.json), ..., prediction CSVs, PNG or JPEG figures"``.
    """
    kinds = [f"{builder.kind} ({builder.markers})" for builder in BUILDERS]
    return ", ".join([*kinds, "prediction CSVs (id and probability columns)", "PNG or JPEG figures"])


def write_report(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    title: str | None = None,
    log: Callable[[str], object] | None = None,
) -> Path:
    """Write the page of :func:`build_report` to ``out`` atomically (replacing an older report).

    Parameters
    ----------
    paths : iterable of path-like
        What to report on (see :func:`build_report`).
    out : path-like
        The HTML file to write; its folder is created if needed.
    title : str, optional
        Page title.
    log : callable, optional
        Called with one ``warning: ...`` line per path in which nothing was recognised (the
        page says so too, in a section of its own).

    Returns
    -------
    pathlib.Path
        ``out``, the HTML page written.

    Raises
    ------
    deepshadows.errors.InputError
        If a path does not exist, nothing at all is recognised under the paths (the message
        lists what the report looks for; no page is written), or ``out`` is a folder or cannot
        be written.
    """
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder, expected the name of the HTML file to write")
    paths = [Path(p) for p in paths]
    sections = collect_sections(paths)
    empty = [s.path for s in sections if s.kind == "unrecognised"]
    if len(empty) == len(sections):
        raise InputError(
            f"{', '.join(str(p) for p in empty)}: nothing recognised, so no report is written; "
            f"the report looks for: {looked_for()}"
        )
    for path in empty:
        (log or (lambda _line: None))(
            f"warning: {path}: nothing recognised here, the page says so; "
            f"the report looks for: {looked_for()}"
        )
    page = _render(sections, paths, title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report ({exc.strerror or exc})") from exc
    return out
