"""The ``calibrate`` command and the probability options shared by ``predict`` and ``evaluate``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from deepshadows.cli._echo import echo_notes
from deepshadows.cli.options import (
    batch_size_option,
    device_option,
    gather_options,
    label_table_options,
    stack_options,
)

__all__ = ["METHOD_CHOICES", "ProbabilityChoice", "calibrate", "echo_notes", "probability_options"]

_F = TypeVar("_F", bound=Callable[..., Any])
#: :data:`deepshadows.calibration.CALIBRATION_METHODS`, spelled out: importing the package
#: loads torch, which every command would then pay for at start-up. A test keeps them equal.
METHOD_CHOICES: tuple[str, ...] = ("temperature", "platt", "isotonic", "none")


@dataclass(frozen=True)
class ProbabilityChoice:
    """The probabilities and the operating point asked for on the command line.

    Parameters
    ----------
    calibrated : bool
        Use the calibrated probabilities of a calibrated model (False with ``--uncalibrated``).
    target_purity : float or None
        ``--target-purity`` (None: not asked for).
    target_completeness : float or None
        ``--target-completeness`` (None: not asked for).
    """

    calibrated: bool
    target_purity: float | None
    target_completeness: float | None


def probability_options(function: _F) -> _F:
    """Add ``--uncalibrated``, ``--target-purity`` and ``--target-completeness`` to a command.

    Parameters
    ----------
    function : callable
        The command function; it receives them all as one :class:`ProbabilityChoice`,
        ``probabilities``.

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
        gather_options("probabilities", ("uncalibrated", "target_purity", "target_completeness"), _choice),
    )(function)


def _choice(
    uncalibrated: bool, target_purity: float | None, target_completeness: float | None
) -> ProbabilityChoice:
    return ProbabilityChoice(not uncalibrated, target_purity, target_completeness)


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
