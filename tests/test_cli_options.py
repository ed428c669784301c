"""Options shared by several commands: defined once, and groups handed to a command as one value."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from deepshadows.cli.options import (
    RecipeChoice,
    existing_file_option,
    file_option,
    gather_options,
    recipe_options,
    scheduler_option,
)


def _run(command: click.Command, args: list[str]) -> str:
    result = CliRunner().invoke(command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_recipe_options_give_one_choice():
    received: list[RecipeChoice] = []

    @click.command()
    @recipe_options
    def command(recipe: RecipeChoice) -> None:
        received.append(recipe)

    _run(command, ["--recipe", "adamw", "--lr", "0.001", "--freeze", "2", "--class-balance"])
    (recipe,) = received
    assert (recipe.name, recipe.epochs, recipe.batch_size, recipe.lr) == ("adamw", None, None, 0.001)
    assert recipe.changes["freeze"] == 2 and recipe.changes["class_balance"] is True
    assert recipe.changes["augment"] is None


def test_gather_options_hands_the_built_value_and_keeps_the_others():
    @click.command()
    @click.option("--a", type=int, default=1)
    @click.option("--b", type=int, default=2)
    @click.option("--c", type=int, default=3)
    @gather_options("total", ("a", "b"), lambda a, b: a + b)
    def command(total: int, c: int) -> None:
        click.echo(f"{total} {c}")

    assert _run(command, ["--a", "10"]).strip() == "12 3"


def test_file_and_scheduler_options(tmp_path: Path):
    @click.command()
    @file_option("--table", "table_path", help="A table.")
    @existing_file_option("--store", help="A store.")
    @scheduler_option(help="Dask.")
    def command(table_path: Path | None, store: Path | None, scheduler: str | None) -> None:
        click.echo(repr((table_path, store, scheduler)))

    assert _run(command, []).strip() == repr((None, None, None))
    existing = tmp_path / "s.h5"
    existing.write_bytes(b"")
    output = _run(command, ["--table", "t.csv", "--store", str(existing), "--scheduler", "local:2"])
    assert output.strip() == repr((Path("t.csv"), existing, "local:2"))
    missing = CliRunner().invoke(command, ["--store", str(tmp_path / "missing.h5")])
    assert missing.exit_code == 2
    folder = CliRunner().invoke(command, ["--table", str(tmp_path)])
    assert folder.exit_code == 2
