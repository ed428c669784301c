"""``deepshadows predict``: classify a store, a folder of cutouts or one image with a trained model."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._echo import echo_note
from deepshadows.cli._status import exit_if_some_failed, strict_option
from deepshadows.cli.calibration import probability_options
from deepshadows.cli.options import (
    batch_size_option,
    device_option,
    file_option,
    model_option,
    out_file_option,
    overwrite_option,
    precision_option,
    quiet_option,
    resize_option,
    resume_option,
    scheduler_option,
)

__all__ = ["predict"]


@click.command()
@click.argument("paths", metavar="[MODEL] INPUT", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option(
    "model_option",
    default=None,
    help="Released model (des, hsc, ls-dr10) or a model path, instead of the MODEL argument [des].",
)
@out_file_option(
    required=False,
    default=Path("predictions.csv"),
    show_default=True,
    help="Output table: .csv, .fits/.fit, .parquet, .ecsv or .vot.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "fits", "parquet", "ecsv", "votable"], case_sensitive=False),
    default=None,
    help="Format of --out, instead of the one its extension names.",
)
@click.option(
    "--columns",
    default=None,
    help="Comma-separated features or truth columns of the store to carry into each row.",
)
@file_option(
    "--catalog", help="Write this catalogue (CSV, ECSV or FITS) back with the prediction columns added."
)
@click.option("--id-column", default=None, help="Id column of --catalog [id, objid, ..., any case].")
@click.option("--ra-column", default=None, help="Right ascension of --catalog, degrees [ra, any case].")
@click.option("--dec-column", default=None, help="Declination of --catalog, degrees [dec, any case].")
@click.option(
    "--match-radius",
    type=float,
    default=None,
    help="Match --catalog rows by position within this many arcsec instead of by id.",
)
@click.option("--threshold", type=float, default=None, help="LSBG when the probability exceeds it [model's].")
@batch_size_option()
@resize_option()
@device_option()
@precision_option(
    help="auto: bf16 on CPUs with native bfloat16, fp16 on CUDA, else fp32 (ONNX models: fp32)."
)
@resume_option(help="Continue an interrupted prediction.")
@click.option("--retry-failed", is_flag=True, help="With --resume: read the rows that failed before again.")
@strict_option
@overwrite_option()
@scheduler_option(help="Classify on Dask: local:N (a local cluster of N workers) or a scheduler address.")
@click.option(
    "--partition-size", type=int, default=8192, show_default=True, help="Rows per task with --scheduler."
)
@quiet_option()
@probability_options
def predict(
    paths: tuple[Path, ...],
    model_option: str | None,
    out: Path,
    fmt: str | None,
    columns: str | None,
    catalog: Path | None,
    id_column: str | None,
    ra_column: str | None,
    dec_column: str | None,
    match_radius: float | None,
    threshold: float | None,
    batch_size: int,
    resize: str | None,
    device: str,
    precision: str,
    resume: bool,
    retry_failed: bool,
    strict: bool,
    overwrite: bool,
    scheduler: str | None,
    partition_size: int,
    quiet: bool,
    uncalibrated: bool,
    target_purity: float | None,
    target_completeness: float | None,
) -> None:
    """Classify a store, a folder of JPEG/PNG cutouts or one image; write id, probability, label.

    The table's format follows the extension of --out (CSV, FITS binary table, Parquet, ECSV,
    VOTable). Rows of a store carry its ra and dec when it has them (a fetched store does) and
    the --columns asked for. With --catalog the output is that catalogue, every row and column,
    with the prediction columns added: matched by id, or by position with --match-radius.

    MODEL is a run folder or weight file from `train`, an ONNX file from `export --onnx` (run by
    ONNX Runtime), or the name of a model released with the package: des, hsc or ls-dr10. By
    default a store is classified by the released model made for its survey's imaging (ls-dr10
    for ls-dr9 and ls-dr10 stores, hsc for hsc ones), anything else by des.
    The columns are the same for every model: id, probability (prob_<class> for K classes), label.
    With a calibration (unless --uncalibrated) probability is calibrated and the model's own
    value follows as probability_uncalibrated. Unreadable images are listed in OUT.failures.csv
    (exit status 3).
    """
    if len(paths) > 2:
        raise click.UsageError("give at most two arguments: [MODEL] INPUT")
    if len(paths) == 2 and model_option is not None:
        raise click.UsageError("give the model either as the MODEL argument or as --model, not both")
    input_path = paths[-1]
    model: str | Path = paths[0] if len(paths) == 2 else (model_option or _default_model(input_path, quiet))
    from deepshadows.predict import predict as run_predict
    from deepshadows.predict.catalog_join import CatalogJoin

    join = None
    if catalog is not None:
        join = CatalogJoin(catalog, id_column, ra_column, dec_column, match_radius)
    elif any(v is not None for v in (id_column, ra_column, dec_column, match_radius)):
        raise click.UsageError("--id-column, --ra-column, --dec-column and --match-radius need --catalog")

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
        calibrated=not uncalibrated,
        target_purity=target_purity,
        target_completeness=target_completeness,
        strict=strict,
        retry_failed=retry_failed,
        fmt=fmt,
        columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else (),
        catalog=join,
        log=echo_note,
    )
    summary = (
        f"wrote {result['n']} rows to {out} ({result['rows_per_second']:.0f} rows/s); "
        f"{result['failed']} failed; {result['probabilities']} probabilities"
    )
    if result["threshold"] is not None:
        summary += f", threshold {result['threshold']:.4g}"
    click.echo(summary)
    first = result["failures"][0].message if result["failures"] else None
    exit_if_some_failed(result["failed"], result["n_input"], "classified", result["failures_path"], first)


def _default_model(input_path: Path, quiet: bool) -> str:
    """Return the released model for ``input_path`` and say so when it is not the default."""
    from deepshadows.predict.loading import model_for_input
    from deepshadows.released import DEFAULT_MODEL

    model, survey = model_for_input(input_path)
    if model != DEFAULT_MODEL and not quiet:
        note = f"model: {model}, the released model for this store's {survey} imaging (--model to choose)"
        echo_note(note)
    return model
