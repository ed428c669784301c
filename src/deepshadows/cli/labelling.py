"""Labelling commands: ``label`` (the browser page), ``finetune`` and ``active-learning-curve``."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

__all__ = ["active_learning_curve_command", "finetune", "label"]


def _ints(text: str, option: str) -> list[int]:
    from deepshadows.errors import InputError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option}: expected comma-separated integers, got {text!r}") from None


@click.command()
@click.argument("store", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", required=True, help="Run folder, weight file, ensemble folder, or des / hsc.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Label file (id,label,time); continued when it exists.",
)
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--order",
    type=click.Choice(["uncertain", "random", "probability"]),
    default="uncertain",
    show_default=True,
    help="Order of the cutouts.",
)
@click.option("--mc-samples", type=int, default=10, show_default=True, help="MC-dropout passes.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of dropout, order and clustering.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
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
) -> None:
    """Label a store's cutouts in the browser, the most uncertain first; print the page's URL."""
    from deepshadows.labelling import LabelSession
    from deepshadows.labelling.app import make_label_server

    session = LabelSession(store, model, out, order=order, mc_samples=mc_samples, seed=seed)
    server = make_label_server(session, host=host, port=port)
    url = f"http://{host}:{server.server_port}/"
    click.echo(url)
    click.echo(f"labels go to {out}; {len(session.state)} already there; Ctrl-C stops", err=True)
    if not no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@click.command()
@click.argument("run")
@click.option(
    "--data",
    "store",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Store holding the labelled cutouts.",
)
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Label file written by 'deepshadows label'.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="New run folder."
)
@click.option("--head-only", is_flag=True, help="Train the dense layers only.")
@click.option("--epochs", type=int, default=30, show_default=True, help="Most epochs.")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Batch size.")
@click.option("--lr", type=float, default=0.005, show_default=True, help="Adadelta learning rate.")
@click.option(
    "--val-fraction",
    type=float,
    default=0.2,
    show_default=True,
    help="Labels held out for early stopping (0: none).",
)
@click.option("--patience", type=int, default=5, show_default=True, help="Epochs without improvement.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of split, batches, dropout.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
def finetune(
    run: str,
    store: Path,
    labels: Path,
    out: Path,
    head_only: bool,
    epochs: int,
    batch_size: int,
    lr: float,
    val_fraction: float,
    patience: int,
    seed: int,
    device: str,
) -> None:
    """Fine-tune RUN on the objects of a store that a label file names (the paper's settings)."""
    from deepshadows.labelling import finetune_from_labels

    result = finetune_from_labels(
        run,
        store,
        labels,
        out,
        head_only=head_only,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        val_fraction=val_fraction,
        patience=patience,
        seed=seed,
        device=device,
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
@click.option(
    "--data",
    "store",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Labelled store.",
)
@click.option(
    "--oracle",
    type=click.Choice(["label"]),
    default="label",
    show_default=True,
    help="Source of the simulated labels.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--sizes", default="20,40,80,160,320", show_default=True, help="Labels after each round.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds.")
@click.option(
    "--acquisition",
    type=click.Choice(["bald", "entropy"]),
    default="bald",
    show_default=True,
    help="Uncertainty acquisition function.",
)
@click.option("--n-test", type=int, default=960, show_default=True, help="Size of the fixed test part.")
@click.option("--pool", type=int, default=None, help="Objects in each seed's labelling pool (default: all).")
@click.option(
    "--candidates", type=int, default=1000, show_default=True, help="Pool objects scored per round."
)
@click.option("--mc-samples", type=int, default=10, show_default=True, help="MC-dropout passes.")
@click.option("--epochs", type=int, default=30, show_default=True, help="Fine-tuning epochs per round.")
@click.option("--head-only", is_flag=True, help="Fine-tune the dense layers only.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
def active_learning_curve_command(
    run: str,
    store: Path,
    oracle: str,
    out: Path,
    sizes: str,
    seeds: str,
    acquisition: str,
    n_test: int,
    pool: int | None,
    candidates: int,
    mc_samples: int,
    epochs: int,
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
        sizes=_ints(sizes, "--sizes"),
        seeds=_ints(seeds, "--seeds"),
        acquisition=acquisition,
        n_test=n_test,
        pool=pool,
        candidates=candidates,
        mc_samples=mc_samples,
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
