"""Exit statuses of the command line, and the ending of a batch command some of whose rows failed.

======  ==============================================================================
status  meaning
======  ==============================================================================
0       success
1       error: a bad input, file, row or parameter (one ``error: ...`` line names it)
2       usage error (an unknown option, a missing argument), as click reports it
3       completed with some failures: the output is written, and the rows that could not
        be processed are listed with their reasons in ``<out>.failures.csv``
130     aborted or interrupted (rerun with ``--resume`` to continue)
======  ==============================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = [
    "EXIT_ERROR",
    "EXIT_SOME_FAILED",
    "echo_error",
    "exit_if_some_failed",
    "exit_with_error",
    "strict_option",
]

#: Exit status of an error of the package.
EXIT_ERROR = 1
#: Exit status when the output was written but some rows failed (listed in the failures file).
EXIT_SOME_FAILED = 3


def echo_error(message: str) -> None:
    """Print the one ``error: ...`` line of a failed command on stderr.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit.
    """
    click.echo(f"error: {message}", err=True)


def exit_with_error(message: str) -> NoReturn:
    """Print the ``error: ...`` line and exit with :data:`EXIT_ERROR`.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit.

    Raises
    ------
    click.exceptions.Exit
        Always, with status 1.
    """
    echo_error(message)
    raise click.exceptions.Exit(EXIT_ERROR)


def exit_if_some_failed(
    n_failed: int, n_total: int, what: str, listed: Path | str | None, first: str | None = None
) -> None:
    """Warn and exit with :data:`EXIT_SOME_FAILED` when some rows failed; return otherwise.

    When every row failed the command has nothing to show: that is an error (status 1).

    Parameters
    ----------
    n_failed : int
        Rows that failed.
    n_total : int
        Rows of the input.
    what : str
        What happened to the other rows, for the warning (``"classified"``, ``"in the store"``).
    listed : path-like or None
        The failures file.
    first : str, optional
        The message of the first failure, shown when every row failed.

    Raises
    ------
    click.exceptions.Exit
        With status 3 when ``n_failed`` is positive, 1 when it is ``n_total``.
    """
    if n_failed <= 0:
        return
    if n_failed >= n_total:
        example = f" ({first})" if first else ""
        exit_with_error(f"none of the {n_total} rows is {what}{example}; all are listed in {listed}")
    click.echo(f"warning: {n_failed} of {n_total} rows are not {what}; they are listed in {listed}", err=True)
    raise click.exceptions.Exit(EXIT_SOME_FAILED)


def strict_option(command: Any) -> Any:
    """Add ``--strict`` to a batch command: stop at the first row that cannot be read.

    Parameters
    ----------
    command : callable
        The command function (before ``click.command``).

    Returns
    -------
    callable
        The command with the option.
    """
    return click.option(
        "--strict",
        is_flag=True,
        help="Stop at the first unreadable file (exit 1) instead of listing it in OUT.failures.csv (exit 3).",
    )(command)
