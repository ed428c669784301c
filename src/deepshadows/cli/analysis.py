"""Analysis commands: ``baselines``, ``compare``, ``transfer``, ``explain`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._echo import echo_evaluation, echo_files, echo_summary
from deepshadows.cli.options import (
    RecipeChoice,
    device_option,
    int_list,
    label_table_options,
    n_boot_option,
    out_folder_option,
    precision_option,
    recipe_options,
    seed_option,
    split_option,
    store_option,
    workers_option,
)
from deepshadows.errors import InputError

__all__ = ["baselines", "compare", "demo", "explain", "transfer"]


@click.command()
@click.argument("store", type=click.Path(path_type=Path))
@out_folder_option(help="Output folder.")
@click.option(
    "--model",
    "models",
    type=click.Choice(["svm", "rf"]),
    multiple=True,
    default=("svm", "rf"),
    show_default=True,
    help="Baselines to run (repeat the option).",
)
@click.option("--search", is_flag=True, help="Re-tune by grid search with cross-validation.")
@click.option("--folds", type=int, default=5, show_default=True, help="Cross-validation folds of --search.")
@click.option("--jobs", type=int, default=-1, show_default=True, help="Parallel jobs (-1: all cores).")
@seed_option(help="Seed of the forest, folds, bootstrap.")
@n_boot_option()
def baselines(
    store: Path,
    out: Path,
    models: tuple[str, ...],
    search: bool,
    folds: int,
    jobs: int,
    seed: int,
    n_boot: int,
) -> None:
    """Fit the SVM and random-forest baselines on a store's features; evaluate on its test split.

    Rows none of whose features could be measured are counted per split and kept (imputed with
    the training medians); too few measured rows of a class in the train split is an error.
    """
    from deepshadows.baselines import run_baselines

    result = run_baselines(
        store,
        out,
        models=models,
        search=search,
        folds=folds,
        seed=seed,
        n_jobs=jobs,
        n_boot=n_boot,
        log=click.echo,
    )
    for res in result["models"].values():
        echo_evaluation(res["evaluation"] | {"out_dir": str(Path(res["model_file"]).parent)})


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_folder_option(help="Output folder.")
@click.option("--split", default="test", show_default=True, help="Split whose evaluation is read from runs.")
def compare(runs: tuple[Path, ...], out: Path, split: str) -> None:
    """Compare evaluated models: metrics and ROC curves side by side.

    Writes the paper's Table 2 (metrics with their intervals) and Fig. 4a (ROC curves with their
    bands) for several evaluated models.

    RUNS are training runs (evaluated with `evaluate`), baseline folders or evaluation folders.
    """
    from deepshadows.evaluation.compare import compare_models

    result = compare_models(runs, out, split=split)
    click.echo(result["table"])
    echo_files(result["files"])


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@store_option(help="Store of the new survey.")
@out_folder_option(help="Output folder.")
@click.option(
    "--n-finetune", type=int, default=None, help="Objects to fine-tune on [320, or what fits the store]."
)
@click.option("--n-test", type=int, default=None, help="Objects to test on [960, or what fits the store].")
@label_table_options("to draw both samples from, with its labels")
@click.option(
    "--head-only", is_flag=True, help="Fine-tune the dense layers only (default: the whole network)."
)
@recipe_options
@click.option("--curve", default="", help="Learning-curve sample sizes, e.g. 40,80,160,320,640.")
@seed_option(help="Seed of samples, fine-tuning, bootstrap.")
@n_boot_option()
@device_option()
@precision_option()
def transfer(
    run: Path,
    store: Path,
    out: Path,
    n_finetune: int | None,
    n_test: int | None,
    labels: Path | None,
    match_radius: float | None,
    id_column: str | None,
    label_column: str | None,
    head_only: bool,
    recipe: RecipeChoice,
    curve: str,
    seed: int,
    n_boot: int,
    device: str,
    precision: str,
) -> None:
    """Evaluate a trained model on another survey, fine-tune it on a small sample, evaluate again.

    The fine-tuning follows the architecture's recipe unless --recipe names another; the
    options after it change single settings of the recipe.
    """
    from deepshadows.transfer import run_transfer

    result = run_transfer(
        run,
        store,
        out,
        n_finetune=n_finetune,
        n_test=n_test,
        mode="head" if head_only else "whole",
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        recipe=recipe.name,
        recipe_changes=recipe.changes,
        curve=int_list(curve, "--curve"),
        seed=seed,
        n_boot=n_boot,
        device=device,
        precision=precision,
        labels=labels,
        match_radius_arcsec=match_radius,
        id_column=id_column,
        label_column=label_column,
        log=click.echo,
    )
    for stage in ("before", "after"):
        echo_evaluation({"out_dir": str(Path(result["out_dir"]) / stage)})


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@store_option(help="Store to draw from.")
@out_folder_option(help="Output folder.")
@split_option()
@click.option("--per-group", type=int, default=8, show_default=True, help="Cutouts per gallery.")
@click.option("--high", type=float, default=0.8, show_default=True, help="Confident when P exceeds it.")
@click.option("--low", type=float, default=0.2, show_default=True, help="Confident when P is below it.")
@seed_option(help="Seed of the random choice.")
@device_option()
def explain(
    run: Path,
    store: Path,
    out: Path,
    split: str,
    per_group: int,
    high: float,
    low: float,
    seed: int,
    device: str,
) -> None:
    """Grad-CAM galleries of confident true/false positives and negatives (Fig. 6)."""
    from deepshadows.explain import explain_run

    result = explain_run(
        run, store, out, split=split, per_group=per_group, high=high, low=low, seed=seed, device=device
    )
    for line in result["notes"]:
        click.echo(f"note: {line}")
    for name, group in result["groups"].items():
        click.echo(f"{name}: {group['size']} objects, {len(group['shown'])} shown: {group['png']}")
    if not result["groups"]:
        raise InputError(f"{store}: no {split} object to draw")


@click.command()
@out_folder_option(
    required=False, default=Path("demo"), show_default=True, help="Folder for the demo's outputs."
)
@click.option("--n", "n", type=int, default=3000, show_default=True, help="Objects in the demo data set.")
@click.option("--epochs", type=int, default=60, show_default=True, help="Training epochs.")
@seed_option(help="Seed.")
@workers_option()
def demo(out: Path, n: int, epochs: int, seed: int, workers: int | None) -> None:
    """Simulate (or reuse) a small DES set, train the CNN briefly, evaluate it and predict."""
    from deepshadows.pipeline import run_demo

    result = run_demo(out, n=n, epochs=epochs, seed=seed, workers=workers, log=click.echo)
    echo_summary(result["data"])
    echo_evaluation(result["evaluation"])
    click.echo(f"predictions: {result['predictions']}")
    click.echo("")
    click.echo(result["comparison"].rstrip())
    click.echo(f"\nreport: {result['report']}")
