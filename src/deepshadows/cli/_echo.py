"""Printing shared by the commands: lists of files, notes, store summaries and evaluations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import click

__all__ = ["echo_evaluation", "echo_files", "echo_note", "echo_notes", "echo_summary"]


def echo_files(files: Mapping[str, object]) -> None:
    """Print one indented ``name: path`` line per written file.

    Parameters
    ----------
    files : mapping
        Paths by name, in the order to print them.
    """
    for name, path in files.items():
        click.echo(f"  {name}: {path}")


def echo_note(line: str) -> None:
    """Print a note (progress, a choice made for the user) on stderr, apart from the results.

    Parameters
    ----------
    line : str
        The note.
    """
    click.echo(line, err=True)


def echo_notes(lines: Iterable[str]) -> None:
    """Print notes about the probabilities (calibration, operating point) on stderr.

    Parameters
    ----------
    lines : iterable of str
        The notes.
    """
    for line in lines:
        echo_note(line)


def echo_evaluation(result: dict) -> None:
    """Print the metrics table of an evaluation and the paths of its figures.

    Parameters
    ----------
    result : dict
        Result of an evaluation; its ``out_dir`` holds ``metrics.md`` and the figures.
    """
    out = Path(result["out_dir"])
    click.echo("")
    click.echo((out / "metrics.md").read_text().rstrip())
    echo_files({name: out / name for name in sorted(p.name for p in out.glob("*.png"))})


def echo_summary(summary: dict) -> None:
    """Print a store summary as a short table.

    Parameters
    ----------
    summary : dict
        Summary of a store as returned by :func:`deepshadows.inspection.inspect_store`.
    """
    click.echo(f"\n{summary['path']}: {summary['n']} cutouts, survey {summary.get('survey')}")
    counts = summary.get("counts", {})
    kinds = sorted({k for split in counts.values() for k in split if k != "total"})
    click.echo(f"{'split':<11}" + "".join(f"{k:>9}" for k in kinds) + f"{'total':>9}")
    for split, row in counts.items():
        click.echo(f"{split:<11}" + "".join(f"{row.get(k, 0):>9}" for k in kinds) + f"{row['total']:>9}")
    if summary.get("subclasses"):
        click.echo("artifact subclasses: " + json.dumps(summary["subclasses"]))
    rows = summary.get("calibration") or []
    if rows:
        inside = sum(bool(r["within"]) for r in rows)
        click.echo(
            f"calibration vs real {summary['calibration_reference']} cutouts: "
            f"{inside}/{len(rows)} statistics within the real range"
        )
    echo_files(summary.get("figures", {}))
