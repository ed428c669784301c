"""Bootstrap intervals of operating points, and the fitted sample a calibration keeps for them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from deepshadows.calibration import (
    LABELLED_SPLIT,
    MAX_SAMPLE_OBJECTS,
    bootstrap_operating_point,
    calibration_from_dict,
    calibration_to_dict,
    fit_calibration,
    model_operating_point,
)
from deepshadows.errors import InputError


def sample(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a fair model: LSBGs centred at +1, artifacts at -1 (sd 1.2), half of each."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    return np.where(y == 1, rng.normal(1.0, 1.2, n), rng.normal(-1.0, 1.2, n)), y


@pytest.mark.parametrize("target", [{"target_completeness": 0.9}, {"target_purity": 0.8}])
def test_interval_contains_the_estimate_and_narrows_with_more_objects(target):
    small = bootstrap_operating_point(*reversed(_probabilities(40)), **target)
    large = bootstrap_operating_point(*reversed(_probabilities(4000)), **target)
    for point in (small, large):
        band = point.interval
        assert band.n_boot == 1000 and band.level == 0.95
        for name in ("threshold", "completeness", "purity"):
            interval = getattr(band, name)
            assert interval.value == getattr(point, name)
            assert interval.low <= interval.value <= interval.high
    width = {p.interval.n: p.interval.threshold.high - p.interval.threshold.low for p in (small, large)}
    assert width[40] > 4 * width[4000]
    assert small.interval.purity.high - small.interval.purity.low > 0.1


def _probabilities(n: int) -> tuple[np.ndarray, np.ndarray]:
    logits, y = sample(n)
    return expit(logits), y


def test_interval_is_deterministic_for_a_seed():
    p, y = _probabilities(60)
    first = bootstrap_operating_point(y, p, target_completeness=0.9, seed=3)
    again = bootstrap_operating_point(y, p, target_completeness=0.9, seed=3)
    other = bootstrap_operating_point(y, p, target_completeness=0.9, seed=4)
    assert first == again
    assert first.interval.threshold != other.interval.threshold


def test_resamples_that_cannot_meet_the_target_are_counted():
    p, y = _probabilities(40)
    y[np.argmax(p)] = 0  # the most LSBG-like object is an artifact: purity 1 is out of reach
    # The highest purity the full sample reaches: many resamples fall short of it.
    best = max(y[p > t].mean() for t in np.unique(p)[:-1])
    point = bootstrap_operating_point(y, p, target_purity=best)
    band = point.interval
    assert 0 < band.unmet < band.n_boot
    assert band.unmet_fraction == band.unmet / band.n_boot
    text = point.describe()
    assert f"of {band.n_boot} resamples cannot meet the target" in text
    assert point.to_dict()["interval"]["unmet"] == band.unmet
    easy = bootstrap_operating_point(y, p, target_completeness=0.5)
    assert easy.interval.unmet == 0 and "0 % of 1000 resamples" in easy.describe()


def test_the_line_printed_beside_the_threshold():
    p, y = _probabilities(60)
    point = bootstrap_operating_point(y, p, target_completeness=0.9, split=LABELLED_SPLIT)
    text = point.describe()
    low, high = point.interval.threshold.low, point.interval.threshold.high
    assert text.startswith(f"threshold {point.threshold:.3g} [{low:.3g}, {high:.3g}] on the calibrated")
    assert "for completeness >= 0.9: expected purity" in text and "on 60 labelled objects" in text
    assert "95 % bootstrap intervals" in text
    plain = json.loads(json.dumps(point.to_dict()))
    assert plain["interval"]["threshold"]["low"] == pytest.approx(low)
    assert plain["interval"]["n"] == 60 and plain["interval"]["n_lsbg"] == 30


def test_a_calibration_keeps_a_small_sample_and_uses_it():
    logits, y = sample(60)
    calibration = fit_calibration(logits, y, method="platt", split=LABELLED_SPLIT)
    assert len(calibration.sample) == 60
    data = json.loads(json.dumps(calibration_to_dict(calibration)))
    assert len(data["sample"]["logit"]) == 60 and data["sample"]["label"] == y.tolist()
    back = calibration_from_dict(data)
    np.testing.assert_array_equal(back.sample.logits, logits.astype(np.float32))
    assert calibration_to_dict(back) == data
    point = model_operating_point("run", back, n_classes=1, target_completeness=0.9)
    assert point.interval is not None and point.interval.n == 60
    assert point == model_operating_point("run", calibration, n_classes=1, target_completeness=0.9)
    # The point is the one chosen on the stored curve; the interval only comes beside it.
    plain = calibration.choose(target_completeness=0.9, interval=False)
    assert plain.interval is None and plain.threshold == point.threshold
    raw = model_operating_point("run", back, n_classes=1, target_completeness=0.9, calibrated=False)
    assert raw.probabilities == "uncalibrated" and raw.interval is not None


def test_a_large_sample_keeps_only_the_curve():
    logits, y = sample(MAX_SAMPLE_OBJECTS + 2)
    calibration = fit_calibration(logits, y)
    assert calibration.sample is None and "sample" not in calibration_to_dict(calibration)
    assert calibration.choose(target_purity=0.8).interval is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(logit=s["logit"][:-1]), "one label per logit"),
        (lambda s: s.update(label=[2] * len(s["label"])), "0 \\(artifact\\) or 1"),
        (lambda s: s["logit"].__setitem__(0, None), "'logit' must hold finite numbers"),
        (lambda s: s.pop("label"), "needs the lists 'logit' and 'label'"),
    ],
)
def test_a_bad_stored_sample_is_refused_by_name(change, message):
    data = calibration_to_dict(fit_calibration(*sample(40)))
    change(data["sample"])
    with pytest.raises(InputError, match=message) as info:
        calibration_from_dict(data, source="run/calibration.json")
    assert "run/calibration.json" in str(info.value) and "sample" in str(info.value)


def test_bad_options_and_one_class_samples_are_refused():
    p, y = _probabilities(40)
    with pytest.raises(InputError, match="n_boot"):
        bootstrap_operating_point(y, p, target_purity=0.8, n_boot=0)
    with pytest.raises(InputError, match="give one of"):
        bootstrap_operating_point(y, p)
    with pytest.raises(InputError, match="artifacts"):
        bootstrap_operating_point(np.ones(40, dtype=int), p, target_completeness=0.9)
