"""Model commands: ``train``, ``evaluate`` and ``export`` (``predict`` has its own module)."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._echo import echo_evaluation
from deepshadows.cli.calibration import probability_options
from deepshadows.cli.options import (
    batch_size_option,
    device_option,
    file_option,
    label_table_options,
    n_boot_option,
    out_folder_option,
    overwrite_option,
    precision_option,
    quiet_option,
    resume_option,
    scheduler_option,
    seed_option,
    split_option,
    store_option,
)

__all__ = ["evaluate", "export", "train"]


def _echo_carried_calibration(sidecar: Path) -> None:
    """Say whether an exported model's description carries a calibration."""
    import json

    carried = json.loads(sidecar.read_text(encoding="utf-8")).get("calibration")
    if carried:
        click.echo(f"  with its calibration ({carried['method']}) in {sidecar.name}")
    else:
        click.echo("  without calibration (run `deepshadows calibrate` on the model first to carry one)")


@click.command()
@click.argument("store", type=click.Path(path_type=Path))
@out_folder_option(help="Run folder.")
@click.option("--epochs", type=int, default=100, show_default=True, help="Training epochs.")
@batch_size_option(help="Images per step.")
@click.option(
    "--lr",
    type=float,
    default=None,
    help="Peak learning rate [default: the architecture's: 0.1 for Table 1, 0.002 for compact-resnet].",
)
@seed_option(help="Seed of initialisation, order, dropout.")
@device_option()
@click.option(
    "--patience", type=int, default=None, help="Stop after this many epochs without a better val loss."
)
@click.option(
    "--classes",
    "num_classes",
    type=click.Choice(["1", "3"]),
    default="1",
    show_default=True,
    help="1: LSBG vs artifact (sigmoid); 3: LSBG, type-2 and type-1 artifacts (softmax).",
)
@click.option(
    "--model",
    "model_name",
    default="deepshadows-table1",
    show_default=True,
    help="Architecture: deepshadows-table1 (the paper's CNN) or compact-resnet (a compact ResNet, "
    "not in the paper; AdamW, weight decay and a cosine schedule by default).",
)
@click.option(
    "--optimizer",
    type=click.Choice(["adadelta", "adamw"]),
    default=None,
    help="Optimizer [default: the architecture's: adadelta for Table 1, adamw for compact-resnet].",
)
@click.option(
    "--weight-decay", type=float, default=None, help="AdamW weight decay [default: the architecture's]."
)
@click.option(
    "--schedule",
    type=click.Choice(["constant", "cosine"]),
    default=None,
    help="Learning rate: constant, or linear warm-up then cosine decay [default: the architecture's].",
)
@click.option(
    "--warmup-epochs",
    type=int,
    default=None,
    help="Warm-up epochs of the cosine schedule [default: the architecture's].",
)
@precision_option(help="auto: bf16 mixed precision on CPUs with native bfloat16, fp16 on CUDA, else fp32.")
@click.option(
    "--augment",
    type=click.Choice(["default", "none"]),
    default="default",
    show_default=True,
    help="On-the-fly augmentation: flips and rotations, shifts, blur, colour gains and noise.",
)
@file_option(
    "--adapt-to", help="Store of unlabelled cutouts of the target sky: align the features of the two domains."
)
@click.option(
    "--adapt-loss",
    type=click.Choice(["sinkhorn", "energy", "gaussian"]),
    default="sinkhorn",
    show_default=True,
    help="Alignment loss with --adapt-to: Sinkhorn divergence, or an energy or Gaussian MMD.",
)
@click.option(
    "--adapt-weight", type=float, default=0.1, show_default=True, help="Weight of the alignment loss."
)
@click.option(
    "--adapt-warmup",
    type=int,
    default=3,
    show_default=True,
    help="Epochs over which the alignment weight rises from zero.",
)
@file_option(
    "--unlabelled", help="Store of unlabelled cutouts of the target sky: semi-supervised training (FixMatch)."
)
@click.option(
    "--unlabelled-weight", type=float, default=1.0, show_default=True, help="Weight of the unlabelled loss."
)
@click.option(
    "--confidence", type=float, default=0.95, show_default=True, help="Pseudo-label confidence threshold."
)
@click.option(
    "--calibration",
    type=click.Choice(["temperature", "platt", "isotonic", "none"]),
    default="temperature",
    show_default=True,
    help="Calibration fitted on the val split after training (platt, isotonic: binary models).",
)
@click.option(
    "--members",
    type=int,
    default=1,
    show_default=True,
    help="Train an ensemble of this many networks (seeds SEED, SEED+1, ...) in one folder.",
)
@scheduler_option(
    help="Train the members in parallel on Dask: local:N or a scheduler address [one after another]."
)
@resume_option(help="Continue an interrupted run from its last checkpoint.")
@overwrite_option(help="Replace an existing run folder.")
@quiet_option(help="No progress bars.")
def train(
    store: Path,
    out: Path,
    epochs: int,
    batch_size: int,
    lr: float | None,
    seed: int,
    device: str,
    patience: int | None,
    num_classes: str,
    model_name: str,
    optimizer: str | None,
    weight_decay: float | None,
    schedule: str | None,
    warmup_epochs: int | None,
    precision: str,
    augment: str,
    adapt_to: Path | None,
    adapt_loss: str,
    adapt_weight: float,
    adapt_warmup: int,
    unlabelled: Path | None,
    unlabelled_weight: float,
    confidence: float,
    calibration: str,
    members: int,
    scheduler: str | None,
    resume: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Train a network on the train split of a store, validating on its val split.

    The optimizer settings not given take the architecture's defaults, and the run's
    config.json records the values used.

    With --members N > 1, OUT becomes an ensemble folder (members/0 ... members/N-1 and
    ensemble.json) that every command accepts like a run folder.
    """
    from deepshadows.ensemble import fit_ensemble
    from deepshadows.training import TrainConfig

    cfg = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        patience=patience,
        model=model_name,
        optimizer=optimizer,
        weight_decay=weight_decay,
        schedule=schedule,
        warmup_epochs=warmup_epochs,
        num_classes=int(num_classes),
        precision=precision,
        augment=augment,
        adapt_to=None if adapt_to is None else str(adapt_to),
        adapt_loss=adapt_loss,
        adapt_weight=adapt_weight,
        adapt_warmup=adapt_warmup,
        unlabelled=None if unlabelled is None else str(unlabelled),
        unlabelled_weight=unlabelled_weight,
        confidence=confidence,
        calibration=calibration,
    )
    trained = fit_ensemble(
        store,
        out,
        cfg,
        members=members,
        scheduler=scheduler,
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
        log=click.echo,
    )
    result = trained["result"]
    if result is None:
        click.echo(f"ensemble of {members} members: {trained['paths']['description']}")
        return
    click.echo(
        f"best epoch {result['best_epoch']} (val loss {result['best_val_loss']:.4f}); "
        f"model: {result['paths']['model']}"
    )


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@store_option(help="Store to evaluate on.")
@split_option()
@out_folder_option(required=False, default=None, help="Output folder [default: <run>/evaluation_<split>].")
@n_boot_option()
@seed_option(help="Seed of the bootstrap.")
@device_option()
@click.option(
    "--by", default=None, help="Simulated store: also score in bins of mu_eff, r_eff, sersic_n, q or color."
)
@label_table_options("to score, with its labels, instead of a split")
@probability_options
def evaluate(
    run: Path,
    store: Path,
    split: str,
    out: Path | None,
    n_boot: int,
    seed: int,
    device: str,
    by: str | None,
    labels: Path | None,
    match_radius: float | None,
    id_column: str | None,
    label_column: str | None,
    uncalibrated: bool,
    target_purity: float | None,
    target_completeness: float | None,
) -> None:
    """Metrics with 95 % bootstrap intervals, ROC, calibration and confusion matrix of a trained model.

    A calibrated model is scored on its calibrated probabilities; the reliability diagram shows
    its own beside them. With --labels, the objects a label table of yours names are scored
    with its labels (output: <run>/evaluation_labelled), whatever the store's own labels.
    """
    from deepshadows.evaluation.run import evaluate_run

    result = evaluate_run(
        run,
        store,
        split=split,
        out_dir=out,
        n_boot=n_boot,
        seed=seed,
        device=device,
        calibrated=not uncalibrated,
        target_purity=target_purity,
        target_completeness=target_completeness,
        by=by,
        labels=labels,
        match_radius_arcsec=match_radius,
        id_column=id_column,
        label_column=label_column,
    )
    click.echo(f"probabilities: {result['extra']['probabilities']}")
    echo_evaluation(result)


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@file_option("--onnx", "onnx_out", help="ONNX file to write (takes uint8 cutouts, returns logits).")
@file_option(
    "--half", "half_out", help="Weight file (.safetensors) to write with float16 weights: half the size."
)
@click.option(
    "--portable", is_flag=True, help="--half: record file names instead of this machine's absolute paths."
)
@click.option("--opset", type=int, default=None, help="ONNX opset [exporter's default].")
@overwrite_option()
def export(
    model: Path,
    onnx_out: Path | None,
    half_out: Path | None,
    portable: bool,
    opset: int | None,
    overwrite: bool,
) -> None:
    """Export a trained model (run folder or weight file) to ONNX and/or a float16 copy.

    An ensemble folder exports to one ONNX graph of all members (logits of their mean
    probability) and, with --half, to a folder of float16 members.
    """
    from deepshadows.export import export_half

    if onnx_out is None and half_out is None:
        raise click.UsageError("give --onnx FILE, --half FILE or both")
    if half_out is not None:
        written = export_half(model, half_out, portable=portable, overwrite=overwrite)
        if written.is_dir():
            click.echo(f"wrote ensemble folder {written} (members with float16 weights)")
            return _export_onnx(model, onnx_out, opset, overwrite)
        click.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, float16 weights)")
        _echo_carried_calibration(written.with_suffix(".json"))
    _export_onnx(model, onnx_out, opset, overwrite)


def _export_onnx(model: Path, onnx_out: Path | None, opset: int | None, overwrite: bool) -> None:
    from deepshadows.export import export_onnx

    if onnx_out is None:
        return
    path = export_onnx(model, onnx_out, opset=opset, overwrite=overwrite)
    click.echo(f"wrote {path} (logits within 1e-4 of PyTorch on a check batch)")
