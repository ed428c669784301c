"""Calibration metrics: expected calibration error, Brier score, log loss, and their figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from deepshadows.errors import InputError
from deepshadows.evaluation import (
    CALIBRATION_METRICS,
    bootstrap_metrics,
    calibration_metrics,
    completeness_purity_curve,
    plot_completeness_purity,
    plot_reliability,
    reliability_bins,
)


def test_hand_computed_values():
    y = np.array([1, 0, 1, 1])
    p = np.array([0.9, 0.1, 0.8, 0.6])  # bins 13, 1, 12 and 9 of 15: one object each
    m = calibration_metrics(y, p)
    assert m["ece"] == pytest.approx((0.1 + 0.1 + 0.2 + 0.4) / 4)
    assert m["brier"] == pytest.approx((0.01 + 0.01 + 0.04 + 0.16) / 4)
    assert m["log_loss"] == pytest.approx(-(2 * math.log(0.9) + math.log(0.8) + math.log(0.6)) / 4)


def test_objects_in_one_bin_are_averaged():
    # 0.50 and 0.52 share bin 7 of 15: the bin's mean 0.51 against its LSBG fraction 0.5.
    m = calibration_metrics([1, 0], [0.50, 0.52])
    assert m["ece"] == pytest.approx(0.01)
    bins = reliability_bins([1, 0], [0.50, 0.52])
    assert bins["count"].tolist() == [0] * 7 + [2] + [0] * 7
    assert bins["mean_prob"][7] == pytest.approx(0.51) and bins["fraction_positive"][7] == 0.5
    assert np.isnan(bins["mean_prob"][0]) and bins["edges"].size == 16


def test_perfect_and_certain_wrong_predictions():
    perfect = calibration_metrics([0, 1, 1], [0.0, 1.0, 1.0])  # 1.0 falls in the last bin
    assert perfect["ece"] == 0 and perfect["brier"] == 0 and perfect["log_loss"] < 1e-12
    wrong = calibration_metrics([1], [0.0])
    assert wrong["ece"] == 1 and wrong["brier"] == 1
    assert wrong["log_loss"] == pytest.approx(-math.log(1e-15))  # clipped, finite


def test_bad_inputs_name_the_parameter():
    with pytest.raises(InputError, match="n_bins"):
        calibration_metrics([0, 1], [0.2, 0.8], n_bins=0)
    with pytest.raises(InputError, match="prob"):
        calibration_metrics([0, 1], [0.2, 1.8])


def test_bootstrap_intervals_of_the_calibration_metrics():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=600)
    y = (rng.uniform(size=600) < p**2).astype(int)  # probabilities too high: miscalibrated
    intervals = bootstrap_metrics(y, p, n_boot=300, seed=1, calibration=True)
    point = calibration_metrics(y, p)
    for name in CALIBRATION_METRICS:
        iv = intervals[name]
        assert iv.value == pytest.approx(point[name])
        assert iv.low <= iv.value <= iv.high and iv.high - iv.low < 0.2
    # The same resamples as without calibration metrics: the other intervals are unchanged.
    plain = bootstrap_metrics(y, p, n_boot=300, seed=1)
    assert set(plain) == {"accuracy", "completeness", "purity", "auc"}
    assert all(plain[k] == intervals[k] for k in plain)


def test_completeness_purity_curve_by_hand():
    curve = completeness_purity_curve([1, 0, 1, 1], [0.9, 0.1, 0.8, 0.8])
    assert curve["threshold"].tolist() == pytest.approx([0.0, 0.45, 0.85])
    assert curve["completeness"].tolist() == pytest.approx([1, 1, 1 / 3])
    assert curve["purity"].tolist() == pytest.approx([0.75, 1, 1])
    assert curve["selected"].tolist() == [4, 3, 1]
    with pytest.raises(InputError, match="LSBG"):
        completeness_purity_curve([0, 0], [0.1, 0.2])


def test_figures_are_written(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.5 + (y - 0.5) * rng.uniform(0, 1, 300), 0, 1)
    point = {"threshold": 0.6, "target": "purity", "target_value": 0.9, "completeness": 0.7, "purity": 0.91}
    for path in (
        plot_reliability(y, {"calibrated": p, "uncalibrated": p**2}, tmp_path / "rel.png"),
        plot_completeness_purity(y, p, tmp_path / "cp.png", threshold=0.6, operating_point=point),
    ):
        with Image.open(path) as im:
            assert im.format == "PNG" and min(im.size) > 300
    with pytest.raises(InputError, match="probabilities"):
        plot_reliability(y, {}, tmp_path / "x.png")
