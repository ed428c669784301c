from __future__ import annotations

import time

import numpy as np
import pytest
from astropy.stats import sigma_clipped_stats
from PIL import Image

from deepshadows.domain import realism as calibration
from deepshadows.domain.realism import (
    CHANNELS,
    REAL_TARGETS,
    STATISTICS,
    compare_to_real,
    comparison_markdown,
    cutout_statistics,
    plot_calibration,
    reference_note,
)
from deepshadows.errors import InputError


def noisy_sky(n: int, sigma: float, *, level: float = 32.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sky = level + rng.normal(0.0, sigma, size=(n, 64, 64, 3))
    return np.clip(np.rint(sky), 0, 255).astype(np.uint8)


def test_sky_noise_statistics():
    sigma = 6.0
    stats = cutout_statistics(noisy_sky(4, sigma))
    assert set(stats) == set(STATISTICS)
    for values in stats.values():
        assert values.shape == (4, 3)
    np.testing.assert_allclose(stats["bg_median"], 32.0)
    # Clipping a Gaussian at 3 sigma biases its std low by ~1.5 %; on 8-bit data one clipped
    # integer level more or less moves a single plane's value by a few per cent.
    assert np.median(stats["bg_std"]) == pytest.approx(sigma, rel=0.05)
    np.testing.assert_allclose(stats["bg_std"], sigma, rtol=0.08)
    # Only the Gaussian tail beyond 3 sigma (0.27 %, a little more after 8-bit rounding).
    assert np.all(stats["clip_frac"] < 0.01)
    assert np.all(np.abs(stats["center_excess"]) <= 1.0)


def test_bright_central_square_without_noise():
    images = np.full((2, 64, 64, 3), 32, dtype=np.uint8)
    images[:, 24:40, 24:40, :] = 100
    stats = cutout_statistics(images)
    np.testing.assert_array_equal(stats["bg_median"], 32.0)
    np.testing.assert_array_equal(stats["bg_std"], 0.0)
    np.testing.assert_array_equal(stats["center_excess"], 68.0)
    np.testing.assert_array_equal(stats["clip_frac"], 16 * 16 / 64**2)


def test_bright_central_square_on_noisy_sky():
    images = noisy_sky(3, 5.0, seed=1)
    images[:, 24:40, 24:40, :] = 100
    stats = cutout_statistics(images)
    np.testing.assert_allclose(stats["bg_median"], 32.0, atol=0.5)
    np.testing.assert_allclose(stats["bg_std"], 5.0, rtol=0.05)
    np.testing.assert_allclose(stats["center_excess"], 68.0, atol=0.5)
    area = 16 * 16 / 64**2
    assert np.all(stats["clip_frac"] >= area)
    assert np.all(stats["clip_frac"] < area + 0.01)


def test_channels_stay_in_order():
    images = np.empty((2, 64, 64, 3), dtype=np.uint8)
    images[..., 0], images[..., 1], images[..., 2] = 30, 32, 40
    stats = cutout_statistics(images)
    np.testing.assert_array_equal(stats["bg_median"], [[30, 32, 40], [30, 32, 40]])


def test_matches_one_call_per_cutout_and_across_chunks(monkeypatch):
    rng = np.random.default_rng(3)
    images = noisy_sky(7, 8.0, seed=2)
    images[:, 10:20, 40:55, rng.integers(0, 3)] = 220  # a bright neighbour in one channel
    whole = cutout_statistics(images)
    monkeypatch.setattr(calibration, "_CHUNK", 3)
    chunked = cutout_statistics(images)
    for name in STATISTICS:
        np.testing.assert_allclose(chunked[name], whole[name])
    for i in (0, 6):
        for c in range(3):
            _, median, std = sigma_clipped_stats(images[i, :, :, c].astype(np.float64), sigma=3, maxiters=10)
            assert whole["bg_median"][i, c] == pytest.approx(median)
            assert whole["bg_std"][i, c] == pytest.approx(std, rel=1e-5)


def test_empty_and_invalid_input():
    stats = cutout_statistics(np.zeros((0, 64, 64, 3), dtype=np.uint8))
    assert all(v.shape == (0, 3) for v in stats.values())
    with pytest.raises(InputError, match="images"):
        cutout_statistics(np.zeros((2, 64, 64), dtype=np.uint8))
    with pytest.raises(InputError, match="16 px"):
        cutout_statistics(np.zeros((2, 8, 8, 3), dtype=np.uint8))


def test_two_thousand_cutouts_are_fast():
    images = noisy_sky(2000, 10.0, seed=4)
    start = time.perf_counter()
    stats = cutout_statistics(images)
    elapsed = time.perf_counter() - start
    assert stats["bg_std"].shape == (2000, 3)
    assert elapsed < 20.0  # about 1.5 s on a laptop core; a per-cutout loop is far slower


def stats_at_targets(reference: str, *, factor: float = 1.0, n: int = 50) -> dict:
    rng = np.random.default_rng(5)
    out = {}
    for cls, targets in REAL_TARGETS[reference].items():
        out[cls] = {
            name: np.asarray(targets[name]["median"]) * factor * (1.0 + 0.01 * rng.standard_normal((n, 3)))
            for name in STATISTICS
        }
    return out


@pytest.mark.parametrize("reference", sorted(REAL_TARGETS))
def test_compare_to_real_within_at_targets(reference):
    rows = compare_to_real(stats_at_targets(reference), reference=reference)
    assert len(rows) == len(REAL_TARGETS[reference]) * len(STATISTICS) * len(CHANNELS)
    assert all(row["within"] for row in rows)
    assert {row["channel"] for row in rows} == set(CHANNELS)
    row = rows[0]
    assert row["real_low"] <= row["real_median"] <= row["real_high"]
    assert row["sim_p16"] <= row["sim_median"] <= row["sim_p84"]
    assert row["n"] == 50


@pytest.mark.parametrize("reference", sorted(REAL_TARGETS))
def test_compare_to_real_outside_far_away(reference):
    rows = compare_to_real(stats_at_targets(reference, factor=3.0), reference=reference)
    assert not any(row["within"] for row in rows)


def test_range_basis():
    rows = compare_to_real(stats_at_targets("ls-dr9"), reference="ls-dr9")
    basis = {(r["class"], r["statistic"], r["channel"]): r for r in rows}
    bg_std = basis["lsbg", "bg_std", "R"]
    assert bg_std["basis"] == "p16-p84"
    assert (bg_std["real_low"], bg_std["real_high"]) == (5.8, 8.1)
    des = compare_to_real(stats_at_targets("des-dr1"))
    by_stat = {(r["class"], r["statistic"], r["channel"]): r for r in des}
    assert by_stat["lsbg", "bg_median", "R"]["real_low"] == pytest.approx(36.5 - 2.0)
    assert by_stat["lsbg", "bg_std", "R"]["real_high"] == pytest.approx(15.5 * 1.2)
    assert all("median ±" in r["basis"] for r in des)


def test_compare_to_real_errors_and_empty_class():
    good = stats_at_targets("des-dr1")
    with pytest.raises(InputError, match="reference"):
        compare_to_real(good, reference="sdss")
    with pytest.raises(InputError, match="class"):
        compare_to_real({"galaxy": good["lsbg"]})
    with pytest.raises(InputError, match="center_excess"):
        compare_to_real({"lsbg": {k: v for k, v in good["lsbg"].items() if k != "center_excess"}})
    empty = {"lsbg": {name: np.zeros((0, 3)) for name in STATISTICS}}
    rows = compare_to_real(empty)
    assert all(np.isnan(r["sim_median"]) and not r["within"] and r["n"] == 0 for r in rows)


def test_comparison_markdown():
    rows = compare_to_real(stats_at_targets("des-dr1", factor=3.0))
    table = comparison_markdown(rows)
    lines = table.strip().splitlines()
    assert len(lines) == len(rows) + 2
    assert lines[0].startswith("| class | statistic | channel |")
    assert any(line.startswith("| lsbg | bg_std | R |") for line in lines)
    assert "**no**" in table


def test_plot_calibration(tmp_path):
    stats = stats_at_targets("des-dr1")
    stats["artifact"]["bg_std"][:, 1] = np.nan  # a channel without finite values
    out = plot_calibration(stats, tmp_path / "calibration.png", reference="ls-dr9")
    assert out == tmp_path / "calibration.png"
    with Image.open(out) as im:
        im.verify()
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.width > 600 and im.height > 600
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.png"]


def test_reference_note_names_the_source_and_its_limits():
    note = reference_note("des-dr1")
    assert "18 lsbg, 18 artifact" in note
    assert "published figures" in note and "clip_frac" in note
    with pytest.raises(InputError, match="reference"):
        reference_note("sdss")
