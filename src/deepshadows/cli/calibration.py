"""The ``calibrate`` command and the probability options shared by ``predict`` and ``evaluate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["calibrate", "echo_notes", "probability_options"]

_F = TypeVar("_F", bound=Callable[..., Any])


def probability_options(function: _F) -> _F:
    """Add ``--uncalibrated``, ``--target-purity`` and ``--target-completeness`` to a command.

    Parameters
    ----------
    function : callable
        The command function; it receives ``uncalibrated``, ``target_purity`` and
        ``target_completeness``.

    Returns
    -------
    callable
        The decorated function.
    """
    options = (
        click.option(
            "--uncalibrated",
            is_flag=True,
            help="Use the model's own probabilities, not the calibrated ones of a calibrated model.",
        ),
        click.option(
            "--target-purity",
            type=float,
            default=None,
            help="Threshold of highest completeness with at least this validation purity.",
        ),
        click.option(
            "--target-completeness",
            type=float,
            default=None,
            help="Threshold of highest purity with at least this validation completeness.",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


def echo_notes(lines: list[str]) -> None:
    """Print notes about the probabilities (calibration, operating point) on stderr.

    Parameters
    ----------
    lines : list of str
        The notes.
    """
    for line in lines:
        click.echo(line, err=True)


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "store", type=click.Path(path_type=Path), required=True, help="Store to fit on.")
@click.option("--split", default="val", show_default=True, help="Split of the store to fit on.")
@click.option(
    "--method",
    type=click.Choice(["temperature", "isotonic", "none"]),
    default="temperature",
    show_default=True,
    help="temperature scaling, isotonic regression (binary models), or none (curve only).",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Images per forward pass.")
def calibrate(model: Path, store: Path, split: str, method: str, device: str, batch_size: int) -> None:
    """Fit the calibration of a trained model on a split and store it beside the weights.

    MODEL is a run folder (the calibration goes to its calibration.json, replacing one fitted
    at the end of training) or a .safetensors weight file. The completeness and purity of every
    threshold on the split are stored too, for predict --target-purity/--target-completeness.
    """
    from deepshadows.calibration.run import calibrate_run

    result = calibrate_run(model, store, split=split, method=method, device=device, batch_size=batch_size)
    echo_notes(result["notes"])
    click.echo(f"{result['summary']}; wrote {result['path']}")
