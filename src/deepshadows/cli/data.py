"""Data commands: ``simulate``, ``inspect``, ``import`` and ``merge`` (stores of cutouts)."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._echo import echo_files, echo_summary
from deepshadows.cli._status import exit_if_some_failed, strict_option
from deepshadows.cli.options import (
    file_option,
    image_size_option,
    out_file_option,
    out_folder_option,
    overwrite_option,
    quiet_option,
    resize_option,
    resume_option,
    scheduler_option,
    seed_option,
    survey_option,
    workers_option,
)

__all__ = ["import_command", "inspect_command", "merge_command", "simulate"]


@click.command()
@survey_option(help="Survey layer to imitate.")
@click.option("--n", "n", type=int, default=1000, show_default=True, help="Number of objects.")
@seed_option(help="Seed of the whole data set.")
@out_file_option(help="Output HDF5 store, e.g. data/des.h5.")
@workers_option()
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
    "--artifact-mix",
    type=click.Choice(["real", "paper"]),
    default="real",
    show_default=True,
    help="Type-2 artifacts: real (the paper's faint look-alikes and the bright galaxies, saturated stars "
    "and crowded fields of real searches) or paper (faint look-alikes only; with --randomize none the "
    "sets of earlier releases).",
)
@click.option(
    "--max-attempts",
    type=int,
    default=25,
    show_default=True,
    help="Re-draws allowed for an object to pass the catalogue preselection.",
)
@click.option("--no-preselect", is_flag=True, help="Keep objects whether or not they pass the preselection.")
@overwrite_option()
@resume_option()
@click.option("--no-summary", is_flag=True, help="Skip the summary folder (figures, calibration).")
@scheduler_option(help="Simulate on Dask: local:N (a local cluster of N workers) or a scheduler address.")
@quiet_option()
def simulate(
    survey: str,
    n: int,
    seed: int,
    out: Path,
    workers: int | None,
    type1_fraction: float,
    resize: str | None,
    randomize: str,
    artifact_mix: str,
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
    from deepshadows.simulate.artifacts import ARTIFACT_MIXES

    cfg = SimConfig(
        survey=survey.lower(),
        n=n,
        seed=seed,
        type1_fraction=type1_fraction,
        type2_mix=dict(ARTIFACT_MIXES[artifact_mix]),
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
        echo_summary(inspect_store(path))


@click.command("inspect")
@click.argument("store", type=click.Path(path_type=Path))
@out_folder_option(
    required=False, default=None, help="Output folder [default: <store>_summary beside the store]."
)
@click.option(
    "--per-group",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Examples per class and subclass on the contact sheet.",
)
@seed_option(help="Seed of the choice of examples.")
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="Store to compare with per class (e.g. real cutouts from `import`): cutouts side by side, "
    "cutout statistics and sep sources, written to <out>/vs_<reference stem>.",
)
def inspect_command(store: Path, out: Path | None, per_group: int, seed: int, reference: Path | None) -> None:
    """Summarise a store: counts per split and class, contact sheet, feature and calibration figures."""
    from deepshadows.inspection import default_summary_dir, inspect_store

    summary = inspect_store(store, out, per_group=per_group, seed=seed)
    echo_summary(summary)
    if reference is None:
        return
    from deepshadows.domain import compare_stores

    folder = (out if out is not None else default_summary_dir(store)) / f"vs_{reference.stem}"
    result = compare_stores(store, reference, folder, per_group=per_group, seed=seed)
    click.echo(f"\n{result['names'][0]} vs {result['names'][1]}: cutouts per class {result['counts']}")
    click.echo(result["tables"]["calibration"])
    click.echo(result["tables"]["sources"])
    echo_files(result["figures"])


@click.command("import")
@click.argument("folder", metavar="SOURCE", type=click.Path(path_type=Path))
@file_option(
    "--labels",
    "labels_csv",
    help="Labels table (CSV, ECSV or FITS) with columns id, label and optionally file, kind, subclass, "
    "split; every other column (ra, dec, magnitudes, names, ...) is kept in the store, and predict "
    "carries ra, dec (and --columns NAME) into its output.",
)
@out_file_option(help="Output HDF5 store.")
@resize_option(
    help="Resize images of another size (e.g. 256-pixel viewer cutouts) instead of rejecting them."
)
@image_size_option()
@seed_option(help="Seed of the train/val/test split.")
@survey_option(
    default=None,
    show_default=False,
    help="Survey of FITS cutouts (needed for FITS only): <id>.fits cubes (bands, H, W) or "
    "<id>_g.fits, <id>_r.fits, <id>_z.fits [, <id>_i.fits], in nanomaggies.",
)
@click.option(
    "--pixel-scale",
    type=float,
    default=None,
    metavar="ARCSEC",
    help="FITS only: pixel scale of the cutouts in arcsec, overriding their header's WCS (for files "
    "without one). Default: the header's WCS, else the survey's native scale.",
)
@click.option(
    "--select",
    multiple=True,
    help=".npz only: keep the rows whose field equals a value, FIELD=VALUE (repeat to combine), "
    "e.g. selection=random.",
)
@strict_option
@overwrite_option()
def import_command(
    folder: Path,
    labels_csv: Path | None,
    out: Path,
    resize: str | None,
    image_size: int,
    seed: int,
    survey: str | None,
    pixel_scale: float | None,
    select: tuple[str, ...],
    strict: bool,
    overwrite: bool,
) -> None:
    """Build a store from a folder of JPEG/PNG or FITS cutouts and a table of ids and labels.

    FITS cutouts go through the viewer's float -> 8-bit pipeline and get the 19 features; their
    pixel scale comes from the header's WCS (any scale; --pixel-scale overrides it).
    Unreadable cutouts, and files in FOLDER that are neither images nor FITS (hidden files
    excepted), are left out and listed in OUT.failures.csv (exit status 3).

    SOURCE may also be a .npz file of uint8 cutouts `images` (N, H, W, 3) with an optional
    `label` and per-row columns, kept as metadata; all its rows go to the test split.
    """
    from deepshadows.data import import_folder
    from deepshadows.data.npz import NPZ_SUFFIX, import_npz, parse_select

    if folder.suffix.lower() == NPZ_SUFFIX:
        given = [
            name
            for name, value in (
                ("--labels", labels_csv),
                ("--resize", resize),
                ("--survey", survey),
                ("--pixel-scale", pixel_scale),
            )
            if value is not None
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)}: not used with a .npz file ({folder})")
        path = import_npz(
            folder, out=out, select=parse_select(select), image_size=image_size, overwrite=overwrite
        )
        click.echo(f"wrote {path}")
        return
    if select:
        raise click.UsageError(f"--select: applies to .npz files only, and {folder} is not one")

    result = import_folder(
        folder,
        labels_csv=labels_csv,
        out=out,
        image_size=image_size,
        resize=resize,
        overwrite=overwrite,
        seed=seed,
        survey=survey,
        strict=strict,
        pixel_scale=pixel_scale,
    )
    n_failed = len(result.failures)
    click.echo(f"wrote {result.path}: {result.n_stored} rows; {n_failed} failed")
    exit_if_some_failed(n_failed, result.n_stored + n_failed, "in the store", result.failures_path)


@click.command("merge")
@click.argument("stores", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@out_file_option(help="The merged HDF5 store.")
@overwrite_option()
@quiet_option()
def merge_command(stores: tuple[Path, ...], out: Path, overwrite: bool, quiet: bool) -> None:
    """Merge stores (e.g. simulations of several surveys) into one; every row keeps its split.

    A model trained on the merged store can be scored on the test split of any source without
    leakage. Features and truth are kept when every store has the same columns.
    """
    from deepshadows.data import merge_stores, open_store

    path = merge_stores(stores, out, overwrite=overwrite, progress=not quiet)
    with open_store(path) as merged:
        summary = merged.summary()
    click.echo(f"wrote {path}: {summary['n']} rows from {len(stores)} stores, survey {summary['survey']}")
