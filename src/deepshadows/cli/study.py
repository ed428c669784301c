"""``deepshadows study``: the uncertainty studies (split seeds, label noise, training bootstrap)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from deepshadows.cli._echo import echo_files
from deepshadows.cli._status import exit_if_some_failed
from deepshadows.cli.options import (
    batch_size_option,
    device_option,
    n_boot_option,
    out_folder_option,
    overwrite_option,
    precision_option,
    quiet_option,
    resume_option,
    scheduler_option,
    seed_option,
    stack_options,
    store_option,
)

__all__ = ["study"]


def _shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every study takes: data, output, training settings, parallelism, resumption."""
    return stack_options(
        store_option(help="Labelled store."),
        out_folder_option(help="Study folder."),
        click.option(
            "--epochs", type=int, default=100, show_default=True, help="Training epochs of every run."
        ),
        batch_size_option(help="Images per step."),
        click.option("--lr", type=float, default=0.1, show_default=True, help="Adadelta learning rate."),
        seed_option(help="Training seed (and seed of the study)."),
        click.option(
            "--patience", type=int, default=None, help="Early stop after this many epochs without gain."
        ),
        precision_option(help="Arithmetic of the forward pass."),
        device_option(),
        n_boot_option(help="Test-set bootstrap resamples."),
        click.option(
            "--jobs", type=int, default=1, show_default=True, help="Runs trained at once, local processes."
        ),
        scheduler_option(
            help="Run on Dask instead: local:N (a local cluster of N workers) or a scheduler address."
        ),
        click.option("--threads", type=int, default=None, help="PyTorch threads per run [cores / jobs]."),
        resume_option(help="Continue a study: finished runs are kept."),
        overwrite_option(help="Replace a study in --out."),
        quiet_option(help="No progress bars."),
    )(command)


def _run(kind: str, params: dict[str, Any], options: dict[str, Any]) -> None:
    from deepshadows.studies import run_study
    from deepshadows.training import TrainConfig

    cfg = TrainConfig(
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        seed=options["seed"],
        device=options["device"],
        patience=options["patience"],
        precision=options["precision"],
    )
    result = run_study(
        kind,
        options["store"],
        options["out"],
        cfg,
        params=params,
        n_boot=options["n_boot"],
        jobs=options["jobs"],
        scheduler=options["scheduler"],
        threads=options["threads"],
        resume=options["resume"],
        overwrite=options["overwrite"],
        progress=not options["quiet"],
        log=click.echo,
    )
    if result["files"]:
        click.echo("")
        click.echo(Path(result["files"]["table"]).read_text(encoding="utf-8").rstrip())
    echo_files(result["files"])
    failed = result["failed"]
    n_runs = len(result["results"]) + len(failed)
    first = failed[0].reason if failed else None
    exit_if_some_failed(
        len(failed), n_runs, "finished (--resume runs them again)", result["failures_path"], first
    )


@click.group()
def study() -> None:
    """Retrain the model many times to measure what its metrics depend on (paper Sec. 6)."""


@study.command("splits")
@click.option("--seeds", type=int, default=6, show_default=True, help="Number of new random splits.")
@_shared_options
def splits_command(seeds: int, **options: Any) -> None:
    """Re-split the whole store with new seeds (sizes unchanged), retrain and evaluate each (Table 5)."""
    _run("splits", {"seeds": seeds}, options)


@study.command("label-noise", context_settings={"allow_extra_args": True})
@click.option(
    "--levels",
    type=float,
    multiple=True,
    default=(0.01, 0.05, 0.10, 0.33),
    show_default=True,
    help="Fractions of training labels to flip: --levels 0.01 0.05 0.10 0.33.",
)
@click.option(
    "--targeted",
    type=click.Choice(["artifacts-to-lsbg", "lsbg-to-artifacts"]),
    default=None,
    help="Flip one class only [random: equal numbers of both].",
)
@_shared_options
@click.pass_context
def label_noise_command(
    ctx: click.Context, levels: tuple[float, ...], targeted: str | None, **options: Any
) -> None:
    """Flip a fraction of the training labels, retrain, evaluate on the clean test set (Table 6)."""
    values = list(levels)
    for extra in ctx.args:  # the values after the first one of --levels
        try:
            values.append(float(extra))
        except ValueError:
            raise click.UsageError(f"unexpected argument {extra!r} (--levels takes numbers)") from None
    params = {"levels": values, "mode": targeted or "random", "seed": options["seed"]}
    _run("label-noise", params, options)


@study.command("bootstrap-train")
@click.option(
    "--n", "n", type=int, default=20, show_default=True, help="Bootstrap resamples of the training set."
)
@_shared_options
def bootstrap_train_command(n: int, **options: Any) -> None:
    """Retrain on bootstrap resamples of the training set: training versus test-set variance."""
    _run("bootstrap-train", {"n": n, "seed": options["seed"]}, options)
