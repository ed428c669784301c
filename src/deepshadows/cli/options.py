"""The options that several commands share, each defined once, and the parsing of their values.

Each ``*_option`` is :func:`click.option` with the option's name, type and default filled in;
called with no arguments it gives the common option, and a command whose help text (or default)
says something of its own passes it: ``@device_option()``, ``@quiet_option(help="No progress
bars.")``. ``file_option`` and ``existing_file_option`` fill in the type and default of an
optional file, and the command names the option too. :func:`recipe_options` adds the fine-tuning
recipe's options as one group, which the command receives as one value (:func:`gather_options`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from deepshadows.surveys import SURVEYS

__all__ = [
    "CONTEXT_SETTINGS",
    "PRECISIONS",
    "RECIPE_FIELDS",
    "RecipeChoice",
    "batch_size_option",
    "device_option",
    "existing_file_option",
    "file_option",
    "gather_options",
    "image_size_option",
    "int_list",
    "label_table_options",
    "mc_samples_option",
    "model_option",
    "n_boot_option",
    "out_file_option",
    "out_folder_option",
    "overwrite_option",
    "precision_option",
    "quiet_option",
    "recipe_option",
    "recipe_options",
    "resize_option",
    "resume_option",
    "scheduler_option",
    "seed_option",
    "split_option",
    "stack_options",
    "store_option",
    "survey_option",
    "workers_option",
]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Settings of the ``deepshadows`` group and of commands run on their own (``-h``, line width).
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Arithmetic choices of ``--precision``.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")

#: Names of the recipe fields these options set (None when not given).
RECIPE_FIELDS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "layer_decay",
    "freeze",
    "augment",
    "class_balance",
)

#: The recipe options that change single settings of the recipe, in the order they are passed on.
_RECIPE_CHANGES = ("weight_decay", "layer_decay", "freeze", "augment", "class_balance", "bn_recalibrate")


def stack_options(*options: Callable[[Any], Any]) -> Callable[[_F], _F]:
    """Return a decorator that adds ``options`` to a command in the order they are listed.

    Parameters
    ----------
    *options : callable
        Click decorators (``click.option(...)`` or those of this module), the first shown first.

    Returns
    -------
    callable
        The decorator.
    """

    def decorate(function: _F) -> _F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def gather_options(into: str, names: tuple[str, ...], build: Callable[..., Any]) -> Callable[[_F], _F]:
    """Return a decorator under which a command receives several options as one value.

    Parameters
    ----------
    into : str
        Name of the command's parameter that receives the value.
    names : tuple of str
        Parameter names of the options gathered; the command does not receive them.
    build : callable
        Makes the value from the options' values, passed by name.

    Returns
    -------
    callable
        The decorator. It goes below the options it gathers (after them in :func:`stack_options`),
        so that it sees their values first.
    """

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def command(*args: Any, **kwargs: Any) -> Any:
            value = build(**{name: kwargs.pop(name) for name in names})
            return function(*args, **{into: value}, **kwargs)

        return cast(_F, command)

    return decorate


#: ``--model``, a run folder, weight file, ensemble folder or released model; each command gives
#: its parameter name, whether it is required and its help.
model_option = functools.partial(click.option, "--model")
#: ``--device`` (default cpu).
device_option = functools.partial(
    click.option, "--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto."
)
#: ``--precision``, one of :data:`PRECISIONS` (default auto).
precision_option = functools.partial(
    click.option, "--precision", type=click.Choice(list(PRECISIONS)), default="auto", show_default=True
)
#: ``--batch-size`` (default 64).
batch_size_option = functools.partial(
    click.option, "--batch-size", type=int, default=64, show_default=True, help="Images per forward pass."
)
#: The flag ``--overwrite``.
overwrite_option = functools.partial(
    click.option, "--overwrite", is_flag=True, help="Replace an existing output file."
)
#: The flag ``--quiet``.
quiet_option = functools.partial(click.option, "--quiet", is_flag=True, help="No progress bar.")
#: The flag ``--resume``.
resume_option = functools.partial(
    click.option, "--resume", is_flag=True, help="Continue an interrupted run with the same options."
)
#: ``--split``, a split of a store (default test).
split_option = functools.partial(
    click.option, "--split", default="test", show_default=True, help="Split of the store."
)
#: ``--image-size``, the side of the stored cutouts (default 64).
image_size_option = functools.partial(
    click.option, "--image-size", type=int, default=64, show_default=True, help="Side of the stored cutouts."
)
#: ``--mc-samples``, MC-dropout passes (default 10).
mc_samples_option = functools.partial(
    click.option, "--mc-samples", type=int, default=10, show_default=True, help="MC-dropout passes."
)
#: ``--resize``, the filter that brings images of another size to the model's (default: reject them).
resize_option = functools.partial(
    click.option,
    "--resize",
    type=click.Choice(["nearest", "bicubic"]),
    default=None,
    help="Resize images of another size instead of rejecting them.",
)
#: ``--seed`` (default 0).
seed_option = functools.partial(click.option, "--seed", type=int, default=0, show_default=True)
#: ``--workers``, worker processes (default: all cores).
workers_option = functools.partial(
    click.option, "--workers", type=int, default=None, help="Worker processes [default: all cores]."
)
#: ``--scheduler``, a Dask scheduler to spread the work over: local:N (a local cluster of N
#: workers) or a scheduler's address (default: none); each command gives its help.
scheduler_option = functools.partial(click.option, "--scheduler", default=None)
#: ``--n-boot``, bootstrap resamples (default 1000).
n_boot_option = functools.partial(
    click.option, "--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples."
)
#: ``--survey``, one of the package's surveys in any case (default des).
survey_option = functools.partial(
    click.option,
    "--survey",
    type=click.Choice(list(SURVEYS), case_sensitive=False),
    default="des",
    show_default=True,
)
#: ``--out``, the file a command writes (required; a command with a default passes required=False).
out_file_option = functools.partial(
    click.option, "--out", type=click.Path(dir_okay=False, path_type=Path), required=True
)
#: ``--out``, the folder a command writes (required; a command with a default passes required=False).
out_folder_option = functools.partial(
    click.option, "--out", type=click.Path(file_okay=False, path_type=Path), required=True
)
#: An optional file, default none; each command gives the option's name and help.
file_option = functools.partial(click.option, type=click.Path(dir_okay=False, path_type=Path), default=None)
#: An optional file that must exist, default none; each command gives the option's name and help.
existing_file_option = functools.partial(
    click.option, type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None
)
#: ``--data``, the store a command reads, passed on as ``store``.
store_option = functools.partial(
    click.option, "--data", "store", type=click.Path(path_type=Path), required=True
)


#: ``--recipe``, a fine-tuning recipe by name (default: the architecture's).
recipe_option = functools.partial(
    click.option, "--recipe", type=click.Choice(["paper", "adamw"]), default=None
)


@dataclass(frozen=True)
class RecipeChoice:
    """The fine-tuning recipe asked for on the command line.

    Parameters
    ----------
    name : str or None
        ``--recipe`` (None: the architecture's).
    epochs : int or None
        ``--epochs`` (None: the recipe's).
    batch_size : int or None
        ``--batch-size`` (None: the recipe's).
    lr : float or None
        ``--lr`` (None: the recipe's).
    changes : dict
        The other settings of the recipe by field name (weight decay, layer decay, frozen stages,
        augmentation, class balance, batch-normalisation recalibration); None where not given.
    """

    name: str | None
    epochs: int | None
    batch_size: int | None
    lr: float | None
    changes: dict[str, Any] = field(default_factory=dict)


def recipe_options(function: _F) -> _F:
    """Add ``--recipe`` and the options that override its fields to a command.

    Parameters
    ----------
    function : callable
        The command function; it receives them all as one :class:`RecipeChoice`, ``recipe``.

    Returns
    -------
    callable
        The decorated function.
    """
    return stack_options(
        recipe_option(
            help="Fine-tuning recipe [the architecture's: paper for Table 1, adamw for compact-resnet]."
        ),
        click.option("--epochs", type=int, default=None, help="Epochs [the recipe's: paper 30, adamw 40]."),
        batch_size_option(default=None, help="Labelled cutouts per step [16]."),
        click.option("--lr", type=float, default=None, help="Peak learning rate [paper 0.005, adamw 3e-4]."),
        click.option("--weight-decay", type=float, default=None, help="AdamW weight decay [adamw 0.05]."),
        click.option(
            "--layer-decay",
            type=float,
            default=None,
            help="Learning-rate factor per stage towards the input (1: the same everywhere).",
        ),
        click.option(
            "--freeze",
            type=int,
            default=None,
            help="Leading stages kept fixed (-1: all; the dense layers train) [paper 0, adamw 3].",
        ),
        click.option(
            "--augment",
            type=click.Choice(["none", "dihedral", "default"]),
            default=None,
            help="Augmentation of labelled batches [paper none, adamw default: flips, rotations, rendering].",
        ),
        click.option(
            "--class-balance/--no-class-balance",
            default=None,
            help="Draw both classes equally often [paper no, adamw yes].",
        ),
        click.option(
            "--bn-recalibrate/--no-bn-recalibrate",
            default=None,
            help="At the end, measure the batch-normalisation statistics on the real cutouts (AdaBN) [no].",
        ),
        gather_options("recipe", ("recipe", "epochs", "batch_size", "lr", *_RECIPE_CHANGES), _recipe_choice),
    )(function)


def _recipe_choice(
    recipe: str | None, epochs: int | None, batch_size: int | None, lr: float | None, **changes: Any
) -> RecipeChoice:
    return RecipeChoice(recipe, epochs, batch_size, lr, changes)


def int_list(text: str, option: str) -> list[int]:
    """Parse the comma-separated integers of an option (empty parts are skipped).

    Parameters
    ----------
    text : str
        The option's value, e.g. ``"20,40,80"``.
    option : str
        The option's name, for the error message.

    Returns
    -------
    list of int
        The integers, in order.

    Raises
    ------
    deepshadows.errors.InputError
        When a part is not an integer.
    """
    from deepshadows.errors import InputError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option}: expected comma-separated integers, got {text!r}") from None


def label_table_options(what: str) -> Callable[[_F], _F]:
    """Return the options of a label table of the user's: ``--labels`` and how to match it.

    The command receives ``labels``, ``match_radius``, ``id_column`` and ``label_column``, read
    by :func:`deepshadows.data.label_tables.load_label_table` (CSV ``id,label``, ECSV, FITS or
    the labelling page's file; 1/0, lsbg/artifact, type2/type1, true/false in any case).

    Parameters
    ----------
    what : str
        What the labelled objects are for, ending the help of ``--labels`` ("to score").

    Returns
    -------
    callable
        The decorator.
    """
    return stack_options(
        file_option(
            "--labels",
            help=f"Label table (CSV id,label; ECSV; FITS) naming the objects of the store {what}.",
        ),
        click.option(
            "--match-radius",
            type=float,
            default=None,
            help="Match --labels rows by ra/dec within this many arcsec instead of by id.",
        ),
        click.option("--id-column", default=None, help="Id column of --labels [id, objid, ..., any case]."),
        click.option("--label-column", default=None, help="Label column of --labels [label, ..., any case]."),
    )
