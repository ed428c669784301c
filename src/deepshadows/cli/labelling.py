"""Labelling commands: ``label`` (the browser page), ``finetune`` and ``active-learning-curve``."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from deepshadows.cli._echo import echo_note
from deepshadows.cli.options import (
    RecipeChoice,
    device_option,
    existing_file_option,
    int_list,
    label_table_options,
    mc_samples_option,
    model_option,
    out_file_option,
    out_folder_option,
    precision_option,
    recipe_option,
    recipe_options,
    resume_option,
    seed_option,
    store_option,
)

__all__ = ["active_learning_curve_command", "finetune", "label"]


@click.command()
@click.argument("store", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@model_option(required=True, help="Run folder, weight file, ensemble folder, or des / hsc.")
@out_file_option(help="Label file (id,label,time); continued when it exists.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--order",
    type=click.Choice(["uncertain", "random", "probability"]),
    default="uncertain",
    show_default=True,
    help="Order of the cutouts.",
)
@mc_samples_option()
@seed_option(help="Seed of dropout, order and clustering.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@label_table_options("already labelled: written to --out as labels before the page opens")
def label(
    store: Path,
    model: str,
    out: Path,
    port: int,
    host: str,
    order: str,
    mc_samples: int,
    seed: int,
    no_browser: bool,
    labels: Path | None,
    match_radius: float | None,
    id_column: str | None,
    label_column: str | None,
) -> None:
    """Label a store's cutouts in the browser, the most uncertain first; print the page's URL.

    With --labels, the labels you already have (a CSV id,label table, ECSV or FITS) go into the
    label file first, so the page starts after them and retrains with them.
    """
    from deepshadows.labelling import LabelSession
    from deepshadows.labelling.app import make_label_server

    session = LabelSession(
        store,
        model,
        out,
        order=order,
        mc_samples=mc_samples,
        seed=seed,
        known=labels,
        match_radius_arcsec=match_radius,
        id_column=id_column,
        label_column=label_column,
    )
    server = make_label_server(session, host=host, port=port)
    url = f"http://{host}:{server.server_port}/"
    click.echo(url)
    echo_note(f"labels go to {out}; {len(session.state)} already there; Ctrl-C stops")
    if not no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@click.command()
@click.argument("run")
@existing_file_option(
    "--data",
    help="Labelled cutouts: a store (its labels, or those of --labels) or an .npz of images and labels.",
)
@existing_file_option(
    "--labels",
    help="Label table: CSV/ECSV/FITS with an id and a label (1/0, lsbg/artifact), or the label page's file.",
)
@click.option("--match-radius", type=float, default=None, help="Match --labels to --data by ra/dec (arcsec).")
@click.option("--id-column", default=None, help="Id column of --labels [found by name].")
@click.option("--label-column", default=None, help="Label column of --labels [found by name].")
@out_folder_option(help="New run folder.")
@recipe_options
@click.option("--head-only", is_flag=True, help="Train the dense layers only.")
@existing_file_option(
    "--replay", help="Simulated store whose training cutouts are replayed beside the labels."
)
@click.option(
    "--replay-fraction", type=float, default=None, help="Share of each step that is replayed [0.5]."
)
@existing_file_option(
    "--unlabelled", help="Store of unlabelled cutouts of the same sky: semi-supervised (FixMatch)."
)
@click.option("--unlabelled-weight", type=float, default=None, help="Weight of the unlabelled loss [1].")
@click.option("--confidence", type=float, default=None, help="Pseudo-label confidence threshold [0.95].")
@click.option(
    "--cv", type=int, default=5, show_default=True, help="Folds of the cross-validated estimate (0: none)."
)
@click.option(
    "--val-fraction",
    type=float,
    default=0.0,
    show_default=True,
    help="Labels held out for early stopping (0: none, train the recipe's epochs).",
)
@click.option("--patience", type=int, default=5, show_default=True, help="Epochs without improvement.")
@seed_option(help="Seed of folds, batches, dropout.")
@device_option(help="cpu, cuda, mps or auto.")
@precision_option()
@resume_option(help="Continue an interrupted fine-tuning from its checkpoint.")
def finetune(
    run: str,
    data: Path | None,
    labels: Path | None,
    match_radius: float | None,
    id_column: str | None,
    label_column: str | None,
    out: Path,
    recipe: RecipeChoice,
    head_only: bool,
    replay: Path | None,
    replay_fraction: float | None,
    unlabelled: Path | None,
    unlabelled_weight: float | None,
    confidence: float | None,
    cv: int,
    val_fraction: float,
    patience: int,
    seed: int,
    device: str,
    precision: str,
    resume: bool,
) -> None:
    """Fine-tune RUN on your labelled cutouts, and print a cross-validated estimate first.

    RUN is a run folder, a weight file or a released model (des-sim to start from simulations
    alone; des, ls-dr10, ls-dr10-sim, hsc). The recipe is the architecture's unless --recipe
    names another (adamw for the compact ResNet: AdamW, warm-up and cosine decay, the first
    three stages frozen, augmentation, class balance, 40 epochs; paper for Table 1).
    """
    from deepshadows.labelling import finetune_from_labels

    if data is None and unlabelled is None:
        raise click.UsageError("give --data (labelled cutouts), --unlabelled, or both")
    changes = {
        **recipe.changes,
        "replay_fraction": replay_fraction,
        "unlabelled_weight": unlabelled_weight,
        "confidence": confidence,
    }
    result = finetune_from_labels(
        run,
        data,
        labels,
        out,
        recipe=recipe.name,
        head_only=head_only,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        recipe_changes=changes,
        match_radius_arcsec=match_radius,
        id_column=id_column,
        label_column=label_column,
        replay=replay,
        unlabelled=unlabelled,
        cv=cv,
        val_fraction=val_fraction,
        patience=patience,
        seed=seed,
        device=device,
        precision=precision,
        resume=resume,
        log=click.echo,
        progress=lambda row: click.echo(
            f"epoch {int(row['epoch'])}: loss {row['loss']:.4f}"
            + (f", validation loss {row['val_loss']:.4f}" if "val_loss" in row else "")
        ),
    )
    click.echo(
        f"{result['n_train']} training and {result['n_val']} validation labels; "
        f"best epoch {result['best_epoch']}; model in {result['out_dir']}"
    )


@click.command("active-learning-curve")
@click.argument("run")
@store_option(type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Labelled store.")
@click.option(
    "--oracle",
    type=click.Choice(["label"]),
    default="label",
    show_default=True,
    help="Source of the simulated labels.",
)
@out_folder_option(help="Output folder.")
@click.option(
    "--sizes", default=None, help="Labels after each round [20,40,80,160,320, or what fits the store]."
)
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds.")
@click.option(
    "--acquisition",
    type=click.Choice(["bald", "entropy"]),
    default="bald",
    show_default=True,
    help="Uncertainty acquisition function.",
)
@click.option(
    "--n-test",
    type=int,
    default=None,
    help="Size of the fixed test part [960, or a quarter of a smaller store].",
)
@click.option("--pool", type=int, default=None, help="Objects in each seed's labelling pool (default: all).")
@click.option(
    "--candidates", type=int, default=1000, show_default=True, help="Pool objects scored per round."
)
@mc_samples_option()
@recipe_option(help="Fine-tuning recipe [the architecture's].")
@click.option("--epochs", type=int, default=None, help="Fine-tuning epochs per round [the recipe's].")
@click.option("--head-only", is_flag=True, help="Fine-tune the dense layers only.")
@device_option(help="cpu, cuda, mps or auto.")
def active_learning_curve_command(
    run: str,
    store: Path,
    oracle: str,
    out: Path,
    sizes: str | None,
    seeds: str,
    acquisition: str,
    n_test: int | None,
    pool: int | None,
    candidates: int,
    mc_samples: int,
    recipe: str | None,
    epochs: int | None,
    head_only: bool,
    device: str,
) -> None:
    """Simulate the labelling loop with the store's labels: uncertainty versus random acquisition."""
    from deepshadows.labelling import active_learning_curve

    result = active_learning_curve(
        run,
        store,
        out,
        oracle=oracle,
        sizes=None if sizes is None else int_list(sizes, "--sizes"),
        seeds=int_list(seeds, "--seeds"),
        acquisition=acquisition,
        n_test=n_test,
        pool=pool,
        candidates=candidates,
        mc_samples=mc_samples,
        recipe=recipe,
        epochs=epochs,
        head_only=head_only,
        device=device,
        log=click.echo,
    )
    s = result["summary"]
    needed = s["labels_needed_mean_curve"]
    click.echo(
        f"random acquisition, {s['target']['n_random']} labels: accuracy {s['target']['accuracy']:.3f}; "
        f"uncertainty acquisition reaches it with "
        f"{'more than the largest size' if needed is None else f'{needed:.0f}'} labels"
    )
    click.echo(f"figure: {Path(result['out_dir']) / 'active_learning_curve.png'}")
