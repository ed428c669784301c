"""The ``calibrate`` command and the probability options shared by ``predict`` and ``evaluate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deepshadows.cli._echo import echo_notes
from deepshadows.cli.options import batch_size_option, device_option, label_table_options, stack_options

__all__ = ["METHOD_CHOICES", "calibrate", "echo_notes", "probability_options"]

_F = TypeVar("_F", bound=Callable[..., Any])
#: :data:`deepshadows.calibration.CALIBRATION_METHODS`, spelled out: importing the package
#: loads torch, which every command would then pay for at start-up. A test keeps them equal.
METHOD_CHOICES: tuple[str, ...] = ("temperature", "platt", "isotonic", "none")


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
    return stack_options(
        click.option(
            "--uncalibrated",
            is_flag=True,
            help="Use the model's own probabilities, not the calibrated ones of a calibrated model.",
        ),
        click.option(
            "--target-purity",
            type=float,
            default=None,
            help="Threshold of highest completeness with at least this purity where the calibration "
            "was fitted (with its bootstrap interval when that sample was kept).",
        ),
        click.option(
            "--target-completeness",
            type=float,
            default=None,
            help="Threshold of highest purity with at least this completeness where the calibration "
            "was fitted (with its bootstrap interval when that sample was kept).",
        ),
    )(function)


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    required=True,
    help="Store, or .npz of labelled cutouts, to fit on.",
)
@label_table_options("to fit on")
@click.option("--split", default=None, help="Split of a store to fit on, without --labels [val].")
@click.option(
    "--method",
    type=click.Choice(METHOD_CHOICES),
    default="temperature",
    show_default=True,
    help="temperature scaling, Platt scaling (binary; moves the 0.5 decision), isotonic regression "
    "(binary), or none (curve only).",
)
@device_option()
@batch_size_option()
def calibrate(
    model: Path,
    data: Path,
    labels: Path | None,
    match_radius: float | None,
    id_column: str | None,
    label_column: str | None,
    split: str | None,
    method: str,
    device: str,
    batch_size: int,
) -> None:
    """Fit the calibration of a trained model on labelled objects and store it beside the weights.

    MODEL is a run folder (the calibration goes to its calibration.json, replacing one fitted
    at the end of training) or a .safetensors weight file. It is fitted on the --split of a
    store (val by default), on the labelled cutouts of a .npz, or on the objects of either that
    a --labels table names. The completeness and purity of every threshold there are stored
    too, for predict --target-purity/--target-completeness, with the objects themselves when
    there are at most 5000, for the bootstrap interval of the chosen threshold.
    """
    from deepshadows.evaluation.calibrate import calibrate_run

    result = calibrate_run(
        model,
        data,
        labels=labels,
        match_radius_arcsec=match_radius,
        id_column=id_column,
        label_column=label_column,
        split=split,
        method=method,
        device=device,
        batch_size=batch_size,
    )
    echo_notes(result["notes"])
    click.echo(f"{result['summary']}; wrote {result['path']}")
