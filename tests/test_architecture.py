"""The package keeps its layer map: imports go down, no circles, small modules and folders."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "deepshadows"


def _draw_script():
    script = ROOT / "scripts" / "draw_architecture.py"
    spec = importlib.util.spec_from_file_location("draw_architecture", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_contracts_are_kept() -> None:
    # In a process of its own: import-linter configures logging, which would disable the loggers
    # of the package for the tests that follow.
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_has_a_layer() -> None:
    layers = _draw_script().contract_layers()
    named = {name for layer in layers for name in layer}
    packages = set(_draw_script().module_counts())
    assert packages <= named, f"packages without a layer in pyproject.toml: {sorted(packages - named)}"


def test_architecture_page_is_current() -> None:
    assert _draw_script().main(["--check"]) == 0


def test_modules_and_folders_stay_small() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"modules over 400 lines: {long}"
    crowded = {
        str(Path(folder).relative_to(SRC)): n
        for folder, _, files in os.walk(SRC)
        if (n := sum(name.endswith(".py") for name in files)) > 15
    }
    assert not crowded, f"folders over 15 modules: {crowded}"
