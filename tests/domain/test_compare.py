"""Comparison of a store with a reference store: sheets, tables and sep sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepshadows.cli.main import main
from deepshadows.data.npz import import_npz
from deepshadows.domain import compare_stores, detect_sources
from deepshadows.errors import InputError


def dots(n_dots: int, seed: int) -> np.ndarray:
    """A noisy 64 x 64 cutout with ``n_dots`` bright Gaussian dots far apart."""
    rng = np.random.default_rng(seed)
    image = rng.normal(32.0, 5.0, (64, 64, 3))
    yy, xx = np.mgrid[:64, :64]
    for y, x in [(12, 12), (32, 48), (50, 20)][:n_dots]:
        image += (150.0 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 1.5**2)))[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def store(tmp_path: Path, name: str, n_dots: int) -> Path:
    images = np.stack([dots(n_dots, i) for i in range(6)])
    np.savez(tmp_path / f"{name}.npz", images=images, label=np.array([1, 0] * 3))
    return import_npz(tmp_path / f"{name}.npz", out=tmp_path / f"{name}.h5")


def test_three_dots_give_three_sources() -> None:
    images = np.stack([dots(3, 0), dots(0, 1)])
    found = detect_sources(images, np.full((2, 3), 32.0))
    np.testing.assert_array_equal(found["n_sources"], [3, 0])
    assert np.all((found["sources"]["a"] > 1) & (found["sources"]["a"] < 3))
    assert np.isfinite(found["sources"]["mag_B"]).all()


def test_compare_writes_sheet_and_tables(tmp_path: Path) -> None:
    sim, real = store(tmp_path, "sim", 3), store(tmp_path, "real", 1)
    result = compare_stores(sim, real, tmp_path / "cmp", per_group=2)
    assert result["names"] == ["sim.h5", "real.h5"]
    assert Path(result["figures"]["side_by_side"]).is_file()
    table = (tmp_path / "cmp" / "calibration.md").read_text()
    assert "sim.h5 median" in table and "real.h5 median" in table
    rows = {(r["class"], r["quantity"]): r for r in result["sources"]}
    assert rows["lsbg", "n_sources"]["store_median"] == 3
    assert rows["lsbg", "n_sources"]["reference_median"] == 1
    assert "KS D" in (tmp_path / "cmp" / "sources.md").read_text()


def test_inspect_reference_cli(tmp_path: Path) -> None:
    sim, real = store(tmp_path, "sim", 2), store(tmp_path, "real", 1)
    assert main(["inspect", str(sim), "--out", str(tmp_path / "s"), "--reference", str(real)]) == 0
    assert (tmp_path / "s" / "vs_real" / "side_by_side.png").is_file()
    assert (tmp_path / "s" / "vs_real" / "sources.png").is_file()


def test_reference_not_a_store(tmp_path: Path) -> None:
    sim = store(tmp_path, "sim", 1)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(InputError, match="reference: .*notes.txt"):
        compare_stores(sim, bad, tmp_path / "cmp")
    assert main(["inspect", str(sim), "--reference", str(bad)]) == 1
