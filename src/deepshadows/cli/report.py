"""``deepshadows report``: one self-contained HTML page of runs, evaluations and data sets."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._echo import echo_note
from deepshadows.cli.options import out_file_option

__all__ = ["report_command"]


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_file_option(help="HTML file to write, e.g. report.html (replaced if it exists).")
@click.option("--title", default=None, help="Page title [default: DeepShadows report].")
def report_command(paths: tuple[Path, ...], out: Path, title: str | None) -> None:
    """Gather run folders, evaluations, data-set summaries, studies and predictions into one page.

    Each PATH may be an output folder or a folder holding several; they are walked recursively
    and recognised by the files inside. A PATH in which nothing is recognised is named in a
    warning; when nothing at all is recognised, no page is written (exit status 1).
    """
    from deepshadows.report import write_report

    path = write_report(paths, out, title=title, log=echo_note)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
