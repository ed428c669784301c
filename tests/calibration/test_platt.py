"""Platt scaling: it moves the decision at 0.5, stays finite on tiny separable samples, round-trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import expit

from deepshadows.calibration import (
    BINARY_ONLY_METHODS,
    CALIBRATION_METHODS,
    ProbabilityMap,
    calibration_from_dict,
    calibration_to_dict,
    fit_calibration,
    fit_platt,
    fit_probability_map,
)
from deepshadows.cli.calibration import METHOD_CHOICES
from deepshadows.errors import InputError


def shifted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A model biased on a new sky: LSBG logits centred at -1, artifact logits at -4 (sd 1)."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    return np.where(y == 1, rng.normal(-1.0, 1.0, n), rng.normal(-4.0, 1.0, n)), y


def accuracy(prob: np.ndarray, y: np.ndarray) -> float:
    return float(((prob > 0.5) == (y == 1)).mean())


def test_platt_moves_the_decision_that_temperature_keeps():
    fit_logits, fit_y = shifted(60, seed=0)  # a few dozen labels from the new sky
    test_logits, test_y = shifted(4000, seed=1)
    before = accuracy(expit(test_logits), test_y)
    temperature = fit_probability_map(fit_logits, fit_y, method="temperature")
    platt = fit_probability_map(fit_logits, fit_y, method="platt")
    assert before < 0.6
    assert accuracy(temperature.apply(test_logits), test_y) == before  # the order and 0.5 kept
    assert accuracy(platt.apply(test_logits), test_y) > 0.9
    # The equal-variance Gaussians' true log-odds are 3 (z + 2.5): slope 3, bias 7.5.
    big = fit_probability_map(test_logits, test_y, method="platt")
    assert big.slope == pytest.approx(3.0, rel=0.1) and big.bias == pytest.approx(7.5, rel=0.1)
    assert platt.describe().startswith("Platt a=") and " b=" in platt.describe()


@pytest.mark.parametrize(
    ("logits", "labels"),
    [
        ([-3.0, -2.0, 5.0, 6.0], [0, 0, 1, 1]),  # separated
        ([-1e6, 1e6], [0, 1]),  # separated, by far
        ([2.0, 2.0, 2.0], [0, 1, 1]),  # one logit for all
        ([4.0, -4.0], [0, 1]),  # separated the wrong way round
    ],
)
def test_platt_on_tiny_samples_stays_finite(logits, labels):
    a, b = fit_platt(logits, labels)
    assert math.isfinite(a) and math.isfinite(b)
    p = ProbabilityMap("platt", slope=a, bias=b).apply(logits)
    assert 0.05 < p.min() and p.max() < 0.95  # no certainty from so few objects
    # At the optimum the probabilities sum to the smoothed targets (zero gradient in b).
    n_pos = sum(labels)
    targets = n_pos * (n_pos + 1) / (n_pos + 2) + (len(labels) - n_pos) / (len(labels) - n_pos + 2)
    assert p.sum() == pytest.approx(targets, abs=1e-5)


def test_platt_applies_to_binary_models_only():
    logits = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(InputError, match="--calibration platt: applies to binary models"):
        fit_probability_map(logits, np.arange(20) % 3, method="platt")
    with pytest.raises(InputError, match="platt calibration applies to binary models"):
        ProbabilityMap("platt", slope=1.0, bias=0.0).apply(logits)
    assert ProbabilityMap("platt", slope=1.0, bias=0.0).binary_only
    assert set(BINARY_ONLY_METHODS) == {"platt", "isotonic"}


def test_cli_choices_are_the_calibration_methods():
    assert METHOD_CHOICES == CALIBRATION_METHODS


def test_platt_round_trips_through_json():
    logits, y = shifted(60, seed=2)
    fitted = fit_calibration(logits, y, method="platt", data={"path": "real.npz", "labels": None})
    data = json.loads(json.dumps(calibration_to_dict(fitted)))
    assert data["method"] == "platt" and {"slope", "bias"} <= set(data)
    back = calibration_from_dict(data, source="calibration.json")
    assert back.probability_map == fitted.probability_map
    np.testing.assert_array_equal(back.probabilities(logits), fitted.probabilities(logits))
    assert back.fitted_on["data"] == {"path": "real.npz", "labels": None}
    assert calibration_to_dict(back) == data
    assert "Platt a=" in back.describe()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(slope=float("nan")), "slope: Platt scaling needs a finite number"),
        (lambda d: d.update(bias=float("inf")), "bias: Platt scaling needs a finite number"),
        (lambda d: d.pop("slope"), "lacks 'slope'"),
        (lambda d: d.update(bias="high"), "'bias' has the wrong type"),
    ],
)
def test_a_bad_stored_platt_is_refused_by_name(change, message):
    data = calibration_to_dict(fit_calibration(*shifted(40, seed=3), method="platt"))
    change(data)
    text = json.dumps(data)  # NaN and Infinity as Python's json writes and reads them
    with pytest.raises(InputError, match=message) as info:
        calibration_from_dict(json.loads(text), source="run/calibration.json")
    assert "run/calibration.json" in str(info.value)
