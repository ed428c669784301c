"""``deepshadows fetch``: download the cutouts of a catalogue from the Legacy Survey viewer."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli._status import EXIT_SOME_FAILED, exit_if_some_failed, exit_with_error
from deepshadows.cli.options import (
    CONTEXT_SETTINGS,
    image_size_option,
    out_file_option,
    overwrite_option,
    quiet_option,
    resume_option,
    scheduler_option,
    seed_option,
)
from deepshadows.errors import DeepShadowsError
from deepshadows.fetch.cutouts import DEFAULT_BASE_URL, LAYERS
from deepshadows.viewer import RESIZE_FILTERS

__all__ = ["EXIT_SOME_FAILED", "fetch_command"]

_SHOWN_BAD_ROWS = 20


@click.command("fetch", context_settings=CONTEXT_SETTINGS)
@click.argument("catalog", type=click.Path(path_type=Path))
@click.option(
    "--layer",
    type=click.Choice(sorted(LAYERS)),
    default="des-dr1",
    show_default=True,
    help="Viewer layer (des-dr1 for DES, hsc2 for HSC, ls-dr9 or ls-dr10 for the Legacy Survey).",
)
@out_file_option(help="Output store, e.g. data/real.h5.")
@click.option("--fits", is_flag=True, help="Also download the FITS cutouts and store the 19 features.")
@click.option(
    "--from-fits",
    is_flag=True,
    help="Make the cutouts from the FITS bands with the simulator's float -> 8-bit pipeline instead of "
    "downloading the JPEGs (implies --fits).",
)
@click.option(
    "--bands",
    default="grz",
    show_default=True,
    help="Bands of the FITS cutouts (griz where the layer has i: not ls-dr9).",
)
@image_size_option()
@click.option(
    "--resize",
    type=click.Choice(sorted(RESIZE_FILTERS)),
    default=None,
    help="Filter of the 256 -> 64 pixel resize [the layer's: nearest, lanczos for ls-dr9/ls-dr10].",
)
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight at once.")
@click.option(
    "--rate-limit", type=float, default=None, help="Requests per second at most [default: no limit]."
)
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Connect and read time-out, seconds."
)
@click.option("--retries", type=int, default=5, show_default=True, help="Retries of a failed request.")
@click.option(
    "--backoff", type=float, default=1.0, show_default=True, help="Base of the exponential backoff, s."
)
@click.option("--backoff-max", type=float, default=60.0, show_default=True, help="Cap of the backoff, s.")
@click.option(
    "--retry-after-max", type=float, default=120.0, show_default=True, help="Cap of a Retry-After delay, s."
)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="Address of the viewer's site.")
@click.option("--ra-column", default=None, help="Right ascension column, degrees [default: ra, any case].")
@click.option("--dec-column", default=None, help="Declination column, degrees [default: dec, any case].")
@click.option(
    "--id-column", default=None, help="Identifier column [default: id or objid; else the row number]."
)
@click.option("--label-column", default=None, help="Label column (1/lsbg, 0/artifact) [default: unlabelled].")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the raw-response cache [default: cache/ beside --out].",
)
@click.option("--no-cache", is_flag=True, help="Keep no raw responses.")
@resume_option()
@overwrite_option()
@scheduler_option(
    help="Spread the partitions over Dask: local:N or a scheduler address [default: this process]."
)
@click.option(
    "--partition-size",
    type=int,
    default=256,
    show_default=True,
    help="Rows per partition (the unit of resuming and of Dask jobs).",
)
@seed_option(help="Seed of the splits of a labelled store.")
@quiet_option()
def fetch_command(
    catalog: Path,
    layer: str,
    out: Path,
    fits: bool,
    from_fits: bool,
    bands: str,
    image_size: int,
    resize: str | None,
    concurrency: int,
    rate_limit: float | None,
    timeout: float,
    retries: int,
    backoff: float,
    backoff_max: float,
    retry_after_max: float,
    base_url: str,
    ra_column: str | None,
    dec_column: str | None,
    id_column: str | None,
    label_column: str | None,
    cache: Path | None,
    no_cache: bool,
    resume: bool,
    overwrite: bool,
    scheduler: str | None,
    partition_size: int,
    seed: int,
    quiet: bool,
) -> None:
    """Download the cutouts of a catalogue of candidates (CSV or FITS table of ra, dec) into a store.

    Viewer JPEGs (zoom 15) are resized like the simulated cutouts; with --fits the grz FITS
    cutouts at the native pixel scale give the 19 features. The store reads like a simulated
    one in predict, evaluate and transfer; it also holds the catalogue id and the position
    (truth table: row, ra, dec). Rows that are invalid or still fail after the retries are
    listed in <out>.failures.csv (row, id, ra, dec, reason); the others are stored, in
    catalogue order. The failed rows are also written as a catalogue in the input's format,
    <out>.failed.<ext> (.csv, .fits, ...): every input column plus reason (and id, numbering
    the rows, when the input has no id column). Fetch that file with the same options and
    another --out to try those rows again (--resume keeps the failures of the partitions an
    interrupted run finished). Statistics go to <out>.fetch.json.

    Exit status: 0 when every row was stored, 3 when the store was written but some rows are
    missing from it, 1 for invalid input or when no row could be fetched.
    """
    from deepshadows.fetch import fetch_catalog
    from deepshadows.fetch.catalog import read_catalog

    try:
        checked = read_catalog(
            catalog,
            ra_column=ra_column,
            dec_column=dec_column,
            id_column=id_column,
            label_column=label_column,
        )
        for bad in checked.bad[:_SHOWN_BAD_ROWS]:
            click.echo(f"warning: {checked.describe(bad)}", err=True)
        if len(checked.bad) > _SHOWN_BAD_ROWS:
            click.echo(f"warning: ... and {len(checked.bad) - _SHOWN_BAD_ROWS} more invalid rows", err=True)
        result = fetch_catalog(
            checked,
            out,
            layer=layer,
            fits=fits,
            from_fits=from_fits,
            bands=bands,
            image_size=image_size,
            resize=resize,
            base_url=base_url,
            concurrency=concurrency,
            rate_limit=rate_limit,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
            cache=False if no_cache else cache,
            resume=resume,
            overwrite=overwrite,
            scheduler=scheduler,
            partition_size=partition_size,
            seed=seed,
            progress=not quiet,
        )
    except DeepShadowsError as exc:
        exit_with_error(str(exc))
    click.echo(result.summary())
    if result.path is None:
        exit_with_error(f"no row could be fetched; the reasons are in {result.failures_path}")
    exit_if_some_failed(len(result.failures), result.n_catalog, "in the store", result.failures_path)
