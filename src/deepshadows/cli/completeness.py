"""``deepshadows completeness``: the selection function of a model by injection and recovery."""

from __future__ import annotations

from pathlib import Path

import click

from deepshadows.cli.options import (
    device_option,
    out_folder_option,
    overwrite_option,
    quiet_option,
    scheduler_option,
    seed_option,
    survey_option,
    workers_option,
)

__all__ = ["completeness"]


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@survey_option(help="Survey whose imaging is simulated.")
@out_folder_option(help="Output folder.")
@click.option("--n", "n", type=int, default=20_000, show_default=True, help="LSBGs injected.")
@click.option(
    "--grid",
    default="mu_eff,r_eff,color",
    show_default=True,
    help="Truth axes on a grid (mu_eff, r_eff, sersic_n, q, color); the rest follow the catalogue "
    "prior. 'prior': all from the prior.",
)
@click.option(
    "--artifacts",
    "artifacts_per_subclass",
    type=int,
    default=200,
    show_default=True,
    help="Simulated artifacts per subclass (A-I) for the contamination; 0 for none.",
)
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    default=None,
    help="Inject into real cutouts: a store fetched with `fetch --fits` (its cache is read) or a "
    "folder of FITS cutouts [default: simulated fields].",
)
@click.option("--threshold", type=float, default=None, help="Decision threshold [default: the model's].")
@click.option(
    "--uncalibrated", is_flag=True, help="Score the model's own probabilities, not calibrated ones."
)
@seed_option(help="Seed of the whole run.")
@workers_option()
@scheduler_option(help="Simulate on Dask: local:N or a scheduler address.")
@device_option()
@overwrite_option(help="Replace an earlier run in --out.")
@quiet_option()
def completeness(
    run: Path,
    survey: str,
    out: Path,
    n: int,
    grid: str,
    artifacts_per_subclass: int,
    into: Path | None,
    threshold: float | None,
    uncalibrated: bool,
    seed: int,
    workers: int | None,
    scheduler: str | None,
    device: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Completeness of the preselection, the model RUN and both, and contamination per artifact subclass.

    RUN is a run folder, weight file, ensemble, ONNX file or released model (des, hsc).
    """
    from deepshadows.completeness import CompletenessConfig, parse_grid, run_completeness

    cfg = CompletenessConfig(
        survey=survey.lower(),
        n=n,
        grid=parse_grid(grid),
        artifacts_per_subclass=artifacts_per_subclass,
        seed=seed,
        into=None if into is None else str(into),
        threshold=threshold,
        calibrated=not uncalibrated,
    )
    result = run_completeness(
        run,
        out,
        cfg,
        workers=workers,
        scheduler=scheduler,
        device=device,
        overwrite=overwrite,
        progress=not quiet,
    )
    timing = result["timing"]
    click.echo(f"{timing['objects']} objects in {timing['elapsed_s']} s ({timing['objects_per_s']}/s)")
    click.echo(f"threshold {result['threshold']:g}, probabilities {result['probabilities']}")
    click.echo("mean g surface brightness of 50 % completeness [mag/arcsec^2]:")
    for radius, stages in result["mu_at_half"].items():
        cells = ", ".join(f"{stage} {_interval(value)}" for stage, value in stages.items())
        click.echo(f"  R_eff {radius}: {cells}")
    for group, row in result["contamination"].items():
        cells = ", ".join(
            f"{stage} {_fraction(row[stage])}" for stage in ("preselection", "classifier", "both")
        )
        click.echo(f"  contamination {group} (n={row['n']}): {cells}")
    click.echo(f"wrote {result['out_dir']}")


def _interval(value: dict) -> str:
    if value["value"] is None or value["value"] != value["value"]:
        return "not reached"
    return f"{value['value']:.2f} [{value['low']:.2f}, {value['high']:.2f}]"


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
