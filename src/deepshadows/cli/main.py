"""The ``deepshadows`` command line: one thin command per library function.

Every command parses its options and calls one function of the library, which works the same
from a notebook. Errors caused by the input are printed as one line naming the culprit, with
exit status 1 (2 for usage errors, as click does). A batch command (``predict``, ``import``,
``fetch``, ``study``) that wrote its output but could not process some rows (or runs) exits with
status 3 and lists them in ``<out>.failures.csv``; see :mod:`deepshadows.cli._status` for every status.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from deepshadows import __version__
from deepshadows.cli._status import EXIT_ERROR, echo_error
from deepshadows.cli.options import CONTEXT_SETTINGS
from deepshadows.errors import DeepShadowsError

__all__ = ["cli", "main"]


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="deepshadows")
def cli() -> None:
    """Separate low-surface-brightness galaxies from artifacts in survey cutouts."""


def _register_commands() -> None:
    """Add the commands, which live in modules by concern."""
    from deepshadows.cli.analysis import baselines, compare, demo, explain, transfer
    from deepshadows.cli.calibration import calibrate
    from deepshadows.cli.completeness import completeness
    from deepshadows.cli.data import import_command, inspect_command, merge_command, simulate
    from deepshadows.cli.fetch import fetch_command
    from deepshadows.cli.labelling import active_learning_curve_command, finetune, label
    from deepshadows.cli.model import evaluate, export, train
    from deepshadows.cli.predict import predict
    from deepshadows.cli.report import report_command
    from deepshadows.cli.study import study

    for command in (
        simulate,
        inspect_command,
        import_command,
        merge_command,
        train,
        evaluate,
        calibrate,
        predict,
        export,
        baselines,
        compare,
        transfer,
        explain,
        demo,
        fetch_command,
        report_command,
        study,
        label,
        finetune,
        active_learning_curve_command,
        completeness,
    ):
        cli.add_command(command)


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
        error (2), 3 when a batch command completed with some failed rows (listed in its
        failures file) and 130 when aborted or interrupted.
    """
    try:
        # Without standalone mode click returns the status of a command that exits early.
        status = cli.main(
            args=list(argv) if argv is not None else None, prog_name="deepshadows", standalone_mode=False
        )
    except DeepShadowsError as exc:
        echo_error(str(exc))
        return EXIT_ERROR
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
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
