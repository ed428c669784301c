"""The ``deepshadows`` command line: one thin command per library function.

Every command parses its options and calls one function of the library, which works the same
from a notebook. Errors caused by the input are printed as one line naming the culprit, with
exit status 1 (2 for usage errors, as click does).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from deepshadows import __version__
from deepshadows.errors import DeepShadowsError, InputError

__all__ = ["cli", "main"]

_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_SETTINGS)
@click.version_option(__version__, prog_name="deepshadows")
def cli() -> None:
    """Separate low-surface-brightness galaxies from artifacts in survey cutouts."""


@cli.command()
@click.option(
    "--survey",
    type=click.Choice(["des", "hsc", "ls-dr9", "ls-dr10"], case_sensitive=False),
    default="des",
    show_default=True,
    help="Survey layer to imitate.",
)
@click.option("--n", "n", type=int, default=1000, show_default=True, help="Number of objects.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the whole data set.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output HDF5 store, e.g. data/des.h5.",
)
@click.option("--workers", type=int, default=None, help="Worker processes [default: all cores].")
@click.option(
    "--type1-fraction",
    type=float,
    default=0.0,
    show_default=True,
    help="Fraction of type-1 artifacts (bright stars) for the three-class study.",
)
@click.option(
    "--resize",
    type=click.Choice(["nearest", "bicubic", "lanczos"]),
    default=None,
    help="Filter of the 256 -> 64 pixel resize for every cutout [default: drawn per cutout with "
    "--randomize default, else the survey's own: nearest for des and hsc, lanczos for ls-dr9/10].",
)
@click.option(
    "--randomize",
    type=click.Choice(["default", "none"]),
    default="default",
    show_default=True,
    help="Domain randomisation: per-cutout depth, seeing, sky level, colour scales, field of view, "
    "resize filter and JPEG re-compression; none renders every cutout under the survey's own conditions.",
)
@click.option(
    "--max-attempts",
    type=int,
    default=25,
    show_default=True,
    help="Re-draws allowed for an object to pass the catalogue preselection.",
)
@click.option("--no-preselect", is_flag=True, help="Keep objects whether or not they pass the preselection.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run with the same options.")
@click.option("--no-summary", is_flag=True, help="Skip the summary folder (figures, calibration).")
@click.option(
    "--scheduler",
    default=None,
    help="Simulate on Dask: local:N (a local cluster of N workers) or a scheduler address.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate(
    survey: str,
    n: int,
    seed: int,
    out: Path,
    workers: int | None,
    type1_fraction: float,
    resize: str | None,
    randomize: str,
    max_attempts: int,
    no_preselect: bool,
    overwrite: bool,
    resume: bool,
    no_summary: bool,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Simulate a survey of LSBGs and artifacts with GalSim into an HDF5 store."""
    from deepshadows.inspection import inspect_store
    from deepshadows.simulate import SimConfig, make_dataset

    cfg = SimConfig(
        survey=survey.lower(),
        n=n,
        seed=seed,
        type1_fraction=type1_fraction,
        resize=resize,
        randomize=randomize,
        max_attempts=max_attempts,
        preselect=not no_preselect,
    )
    path = make_dataset(
        out, cfg, workers=workers, overwrite=overwrite, resume=resume, progress=not quiet, scheduler=scheduler
    )
    click.echo(f"wrote {path}")
    if not no_summary:
        _echo_summary(inspect_store(path))


@cli.command("inspect")
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: <store>_summary beside the store].",
)
@click.option(
    "--per-group",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Examples per class and subclass on the contact sheet.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the choice of examples.")
def inspect_command(store: Path, out: Path | None, per_group: int, seed: int) -> None:
    """Summarise a store: counts per split and class, contact sheet, feature and calibration figures."""
    from deepshadows.inspection import inspect_store

    _echo_summary(inspect_store(store, out, per_group=per_group, seed=seed))


@cli.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--labels",
    "labels_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV with columns id, label and optionally file, kind, subclass, split.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output HDF5 store."
)
@click.option(
    "--resize",
    type=click.Choice(["nearest", "bicubic"]),
    default=None,
    help="Resize images of another size (e.g. 256-pixel viewer cutouts) instead of rejecting them.",
)
@click.option("--image-size", type=int, default=64, show_default=True, help="Side of the stored cutouts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/val/test split.")
@click.option(
    "--survey",
    type=click.Choice(["des", "hsc"], case_sensitive=False),
    default=None,
    help="Survey of FITS cutouts (needed for FITS only): <id>.fits cubes (bands, H, W) or "
    "<id>_g.fits, <id>_r.fits, <id>_z.fits [, <id>_i.fits], in nanomaggies.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def import_command(
    folder: Path,
    labels_csv: Path | None,
    out: Path,
    resize: str | None,
    image_size: int,
    seed: int,
    survey: str | None,
    overwrite: bool,
) -> None:
    """Build a store from a folder of JPEG/PNG or FITS cutouts and a CSV of ids and labels.

    FITS cutouts go through the viewer's float -> 8-bit pipeline and get the 19 features.
    """
    from deepshadows.data import import_folder

    path = import_folder(
        folder,
        labels_csv=labels_csv,
        out=out,
        image_size=image_size,
        resize=resize,
        overwrite=overwrite,
        seed=seed,
        survey=survey,
    )
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run folder.")
@click.option("--epochs", type=int, default=100, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Images per step.")
@click.option("--lr", type=float, default=0.1, show_default=True, help="Adadelta learning rate.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of initialisation, order, dropout."
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
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
@click.option("--model", "model_name", default="deepshadows-table1", show_default=True, help="Architecture.")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="auto: bf16 mixed precision on CPUs with native bfloat16, fp16 on CUDA, else fp32.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train(
    store: Path,
    out: Path,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str,
    patience: int | None,
    num_classes: str,
    model_name: str,
    precision: str,
    resume: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Train the CNN on the train split of a store, validating on its val split."""
    from deepshadows.training import TrainConfig, fit

    cfg = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        patience=patience,
        model=model_name,
        num_classes=int(num_classes),
        precision=precision,
    )
    result = fit(store, out, cfg, resume=resume, overwrite=overwrite, progress=not quiet, log=click.echo)
    click.echo(
        f"best epoch {result['best_epoch']} (val loss {result['best_val_loss']:.4f}); "
        f"model: {result['paths']['model']}"
    )


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", "store", type=click.Path(path_type=Path), required=True, help="Store to evaluate on.")
@click.option("--split", default="test", show_default=True, help="Split of the store.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: <run>/evaluation_<split>].",
)
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
def evaluate(
    run: Path, store: Path, split: str, out: Path | None, n_boot: int, seed: int, device: str
) -> None:
    """Metrics with 95 % bootstrap intervals, ROC with band and confusion matrix of a trained model."""
    from deepshadows.evaluation.run import evaluate_run

    _echo_evaluation(
        evaluate_run(run, store, split=split, out_dir=out, n_boot=n_boot, seed=seed, device=device)
    )


@cli.command()
@click.argument("paths", metavar="[MODEL] INPUT", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    "model_option",
    default=None,
    help="Released model (des, hsc) or a model path, instead of the MODEL argument [des].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("predictions.csv"),
    show_default=True,
    help="Output CSV.",
)
@click.option("--threshold", type=float, default=None, help="LSBG when the probability exceeds it [model's].")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Images per forward pass.")
@click.option(
    "--resize",
    type=click.Choice(["nearest", "bicubic"]),
    default=None,
    help="Resize images of another size instead of rejecting them.",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="auto: bf16 on CPUs with native bfloat16, fp16 on CUDA, else fp32 (ONNX models: fp32).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted prediction.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option(
    "--scheduler",
    default=None,
    help="Classify on Dask: local:N (a local cluster of N workers) or a scheduler address.",
)
@click.option(
    "--partition-size", type=int, default=8192, show_default=True, help="Rows per task with --scheduler."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def predict(
    paths: tuple[Path, ...],
    model_option: str | None,
    out: Path,
    threshold: float | None,
    batch_size: int,
    resize: str | None,
    device: str,
    precision: str,
    resume: bool,
    overwrite: bool,
    scheduler: str | None,
    partition_size: int,
    quiet: bool,
) -> None:
    """Classify a store, a folder of JPEG/PNG cutouts or one image; write id, probability, label.

    MODEL is a run folder or weight file from `train`, an ONNX file from `export --onnx` (run by
    ONNX Runtime), or the name of a model released with the package: des (default) or hsc.
    """
    if len(paths) > 2:
        raise click.UsageError("give at most two arguments: [MODEL] INPUT")
    if len(paths) == 2 and model_option is not None:
        raise click.UsageError("give the model either as the MODEL argument or as --model, not both")
    model: str | Path = paths[0] if len(paths) == 2 else (model_option or "des")
    input_path = paths[-1]
    from deepshadows.predict import predict as run_predict

    result = run_predict(
        model,
        input_path,
        out,
        threshold=threshold,
        batch_size=batch_size,
        resize=resize,
        device=device,
        precision=precision,
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
        scheduler=scheduler,
        partition_size=partition_size,
    )
    click.echo(f"wrote {result['n']} rows to {out} ({result['rows_per_second']:.0f} rows/s)")


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the forest, folds, bootstrap.")
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
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
    """Fit the SVM and random-forest baselines on a store's features; evaluate on its test split."""
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
        _echo_evaluation(res["evaluation"] | {"out_dir": str(Path(res["model_file"]).parent)})


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
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
    for label, path in result["files"].items():
        click.echo(f"  {label}: {path}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--data", "store", type=click.Path(path_type=Path), required=True, help="Store of the new survey."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--n-finetune", type=int, default=320, show_default=True, help="Objects to fine-tune on.")
@click.option("--n-test", type=int, default=960, show_default=True, help="Objects to test on.")
@click.option(
    "--head-only", is_flag=True, help="Fine-tune the dense layers only (default: the whole network)."
)
@click.option("--epochs", type=int, default=30, show_default=True, help="Fine-tuning epochs.")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Fine-tuning batch size.")
@click.option("--lr", type=float, default=0.005, show_default=True, help="Fine-tuning learning rate.")
@click.option("--curve", default="", help="Learning-curve sample sizes, e.g. 40,80,160,320,640.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of samples, fine-tuning, bootstrap."
)
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option(
    "--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True
)
def transfer(
    run: Path,
    store: Path,
    out: Path,
    n_finetune: int,
    n_test: int,
    head_only: bool,
    epochs: int,
    batch_size: int,
    lr: float,
    curve: str,
    seed: int,
    n_boot: int,
    device: str,
    precision: str,
) -> None:
    """Evaluate a trained model on another survey, fine-tune it on a small sample, evaluate again."""
    from deepshadows.transfer import run_transfer

    try:
        sizes = [int(part) for part in curve.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(f"--curve: expected comma-separated integers, got {curve!r}") from exc
    result = run_transfer(
        run,
        store,
        out,
        n_finetune=n_finetune,
        n_test=n_test,
        mode="head" if head_only else "whole",
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        curve=sizes,
        seed=seed,
        n_boot=n_boot,
        device=device,
        precision=precision,
        log=click.echo,
    )
    for stage in ("before", "after"):
        _echo_evaluation({"out_dir": str(Path(result["out_dir"]) / stage)})


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", "store", type=click.Path(path_type=Path), required=True, help="Store to draw from.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--split", default="test", show_default=True, help="Split of the store.")
@click.option("--per-group", type=int, default=8, show_default=True, help="Cutouts per gallery.")
@click.option("--high", type=float, default=0.8, show_default=True, help="Confident when P exceeds it.")
@click.option("--low", type=float, default=0.2, show_default=True, help="Confident when P is below it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random choice.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
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
    for name, group in result["groups"].items():
        click.echo(f"{name}: {group['size']} objects, {len(group['shown'])} shown: {group['png']}")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--onnx",
    "onnx_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ONNX file to write (takes uint8 cutouts, returns logits).",
)
@click.option(
    "--half",
    "half_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Weight file (.safetensors) to write with float16 weights: half the size.",
)
@click.option(
    "--portable", is_flag=True, help="--half: record file names instead of this machine's absolute paths."
)
@click.option("--opset", type=int, default=None, help="ONNX opset [exporter's default].")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def export(
    model: Path,
    onnx_out: Path | None,
    half_out: Path | None,
    portable: bool,
    opset: int | None,
    overwrite: bool,
) -> None:
    """Export a trained model (run folder or weight file) to ONNX and/or a float16 copy."""
    from deepshadows.export import export_half, export_onnx

    if onnx_out is None and half_out is None:
        raise click.UsageError("give --onnx FILE, --half FILE or both")
    if half_out is not None:
        written = export_half(model, half_out, portable=portable, overwrite=overwrite)
        click.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, float16 weights)")
    if onnx_out is None:
        return
    path = export_onnx(model, onnx_out, opset=opset, overwrite=overwrite)
    click.echo(f"wrote {path} (logits within 1e-4 of PyTorch on a check batch)")


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Folder for the demo's outputs.",
)
@click.option("--n", "n", type=int, default=3000, show_default=True, help="Objects in the demo data set.")
@click.option("--epochs", type=int, default=60, show_default=True, help="Training epochs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed.")
@click.option("--workers", type=int, default=None, help="Worker processes [default: all cores].")
def demo(out: Path, n: int, epochs: int, seed: int, workers: int | None) -> None:
    """Simulate (or reuse) a small DES set, train the CNN briefly, evaluate it and predict."""
    from deepshadows.pipeline import run_demo

    result = run_demo(out, n=n, epochs=epochs, seed=seed, workers=workers, log=click.echo)
    _echo_summary(result["data"])
    _echo_evaluation(result["evaluation"])
    click.echo(f"predictions: {result['predictions']}")
    click.echo("")
    click.echo(result["comparison"].rstrip())
    click.echo(f"\nreport: {result['report']}")


def _echo_evaluation(result: dict) -> None:
    """Print the metrics table of an evaluation and the paths of its figures."""
    out = Path(result["out_dir"])
    click.echo("")
    click.echo((out / "metrics.md").read_text().rstrip())
    for name in sorted(p.name for p in out.glob("*.png")):
        click.echo(f"  {name}: {out / name}")


def _echo_summary(summary: dict) -> None:
    """Print a store summary as a short table."""
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
    for name, path in summary.get("figures", {}).items():
        click.echo(f"  {name}: {path}")


def _register_commands() -> None:
    """Add the commands that live in their own modules."""
    from deepshadows.cli.fetch import fetch_command
    from deepshadows.cli.report import report_command
    from deepshadows.cli.study import study

    cli.add_command(fetch_command)
    cli.add_command(report_command)
    cli.add_command(study)


_register_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Errors of the package (:class:`deepshadows.errors.DeepShadowsError`) are printed as one
    ``error: ...`` line instead of a traceback.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 for an error of the package, click's status for a usage
        error (2) and 130 when aborted or interrupted.
    """
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="deepshadows", standalone_mode=False
        )
    except DeepShadowsError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted; rerun with --resume to continue", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
