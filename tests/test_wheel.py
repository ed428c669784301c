"""The package as users install it: a wheel built from the tree, in a fresh virtual environment.

Slow (a new environment is installed), so deselected by ``make test``; ``make test-wheel`` and
``.ci/run`` run it. Everything runs from a folder outside the tree, without ``PYTHONPATH``, so the
installed package (with its released weights, report templates and labelling page) is what runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the CPU wheel the Makefile installs; any other pulls a CUDA build

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 1200) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _cutouts(folder: Path) -> None:
    """Three PNG cutouts and two grz FITS cubes (DES scale, 132 pixels) of a faint disk."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:132, :132]
    disk = np.exp(-np.hypot(x - 65.5, y - 65.5) / 8.0)
    for i in range(3):
        rgb = np.clip(40 + 120 * disk[34:98, 34:98, None] + rng.normal(0, 8, (64, 64, 3)), 0, 255)
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"png{i}.png")
    for i in range(2):
        cube = np.stack([0.05 * disk + rng.normal(0, 0.004, disk.shape) for _ in "grz"]).astype(np.float32)
        header = fits.Header({"BANDS": "grz"})
        fits.PrimaryHDU(cube, header=header).writeto(folder.parent / "fits" / f"cube{i}.fits")


def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    dist = tmp_path / "dist"
    started = time.perf_counter()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], tmp_path, env)
    wheels = list(dist.glob("deepshadows-*.whl"))
    assert len(wheels) == 1
    wheel = wheels[0]
    built = time.perf_counter()

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", TORCH], tmp_path, env)
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    installed = time.perf_counter()
    print(  # noqa: T201 - the wheel's size and install time, shown by make test-wheel (-s)
        f"wheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB, built in {built - started:.0f} s, "
        f"installed with its dependencies in {installed - built:.0f} s"
    )

    work = tmp_path / "work"
    work.mkdir()
    (work / "fits").mkdir()
    _cutouts(work / "png")
    cli = str(venv / "bin" / "deepshadows")

    where = _run([str(python), "-c", "import deepshadows; print(deepshadows.__file__)"], work, env)
    assert str(venv) in where, f"the tree's package ran, not the installed one: {where}"
    _run([str(python), "-c", "import deepshadows; deepshadows.load_model('des')"], work, env)
    assert "Usage: deepshadows label" in _run([cli, "label", "--help"], work, env)

    _run([cli, "predict", "des", "png", "--out", "png.csv"], work, env)
    rows = (work / "png.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("id,")

    _run([cli, "import", "fits", "--survey", "des", "--out", "fits.h5"], work, env)
    _run([cli, "predict", "des", "fits.h5", "--out", "fits.fits"], work, env)
    with fits.open(work / "fits.fits") as hdul:
        assert len(hdul[1].data) == 2
