"""Fixtures of the completeness tests: FITS cutouts made here, and a run on simulated fields."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from deepshadows.surveys import get_survey


def load_fault_server():
    """Return the loopback viewer of the fetch tests (``tests/fetch/server.py``)."""
    name = "deepshadows_test_fault_server"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "fetch" / "server.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def fits_folder(tmp_path: Path):
    """``fits_folder(n, bands="griz")``: a folder of n DES-sized FITS cubes of blank noisy sky."""

    def make(n: int, bands: str = "griz") -> Path:
        survey = get_survey("des")
        size = survey.stamp_pixels
        noise = survey.pixel_noise()
        folder = tmp_path / f"cutouts_{bands}"
        folder.mkdir()
        rng = np.random.default_rng(5)
        for k in range(n):
            cube = np.stack([rng.normal(0, noise[b], (size, size)) for b in bands]).astype(np.float32)
            header = fits.Header()
            for i, band in enumerate(bands):
                header[f"BAND{i}"] = band
            fits.PrimaryHDU(cube, header=header).writeto(folder / f"sky{k:02d}.fits")
        return folder

    return make
