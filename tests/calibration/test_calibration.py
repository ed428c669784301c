"""Calibration methods, their stored form and the choice of operating points."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit, softmax

from deepshadows.calibration import (
    Calibration,
    OperatingCurve,
    ProbabilityMap,
    calibration_from_dict,
    calibration_path,
    calibration_to_dict,
    choose_operating_point,
    find_calibration,
    fit_calibration,
    fit_probability_map,
    model_operating_point,
    operating_curve,
    read_calibration,
    write_calibration,
)
from deepshadows.errors import InputError
from deepshadows.evaluation import calibration_metrics, completeness_purity_curve

OVERCONFIDENCE = 4.0


@pytest.fixture(scope="module")
def overconfident():
    """A well-ranked model four times too confident: labels drawn from sigmoid(z), logits 4 z."""
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 1.5, 6000)
    y = (rng.uniform(size=z.size) < expit(z)).astype(np.int64)
    logits = OVERCONFIDENCE * z
    return logits[:3000], y[:3000], logits[3000:], y[3000:]  # validation, then test


def test_temperature_scaling_fixes_an_overconfident_model(overconfident):
    val_logits, val_y, test_logits, test_y = overconfident
    calibration = fit_calibration(val_logits, val_y, method="temperature")
    assert calibration.probability_map.temperature == pytest.approx(OVERCONFIDENCE, rel=0.1)
    before = calibration_metrics(test_y, expit(test_logits))
    after = calibration_metrics(test_y, calibration.probabilities(test_logits))
    assert before["ece"] > 0.1 and after["ece"] < 0.25 * before["ece"]
    assert after["log_loss"] < before["log_loss"] and after["brier"] < before["brier"]
    recorded = calibration.fitted_on["metrics"]
    assert recorded["calibrated"]["ece"] < recorded["uncalibrated"]["ece"]
    # The order of the objects, hence every selection by threshold, is unchanged.
    order = np.argsort(test_logits)
    assert (np.diff(calibration.probabilities(test_logits)[order]) >= 0).all()


def test_isotonic_regression_fixes_it_too(overconfident):
    val_logits, val_y, test_logits, test_y = overconfident
    calibration = fit_calibration(val_logits, val_y, method="isotonic")
    p = calibration.probabilities(test_logits)
    before = calibration_metrics(test_y, expit(test_logits))["ece"]
    assert calibration_metrics(test_y, p)["ece"] < 0.5 * before
    floor = 1 / (val_y.size + 2)  # never exactly 0 or 1
    assert p.min() >= floor - 1e-12 and p.max() <= 1 - floor + 1e-12
    assert calibration.probability_map.method == "isotonic"


def test_temperature_of_several_classes():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1.5, (3000, 3))
    cumulative = np.cumsum(softmax(logits, axis=1), axis=1)
    y = (rng.uniform(size=(logits.shape[0], 1)) > cumulative).sum(axis=1)  # drawn from the softmax
    pmap = fit_probability_map(3 * logits, y, method="temperature")
    assert pmap.temperature == pytest.approx(3.0, rel=0.15)
    assert np.allclose(pmap.apply(3 * logits).sum(axis=1), 1.0)
    calibration = fit_calibration(3 * logits, y)
    assert calibration.curves == {} and calibration.curve() is None
    with pytest.raises(InputError, match="--calibration isotonic"):
        fit_probability_map(logits, y, method="isotonic")


def test_fitting_needs_both_classes_and_valid_input():
    with pytest.raises(InputError, match="only artifacts"):
        fit_calibration(np.array([0.5, -1.0]), np.array([0, 0]))
    with pytest.raises(InputError, match="targets"):
        fit_calibration(np.array([0.5, -1.0]), np.array([0, 1, 1]))
    with pytest.raises(InputError, match="--calibration"):
        fit_probability_map(np.array([0.5, -1.0]), np.array([0, 1]), method="beta")
    with pytest.raises(InputError, match="temperature"):
        ProbabilityMap("temperature", temperature=-1.0)


@pytest.mark.parametrize("method", ["temperature", "isotonic", "none"])
def test_round_trip_through_json(overconfident, method):
    val_logits, val_y, test_logits, _ = overconfident
    fitted = fit_calibration(
        val_logits, val_y, method=method, store={"path": "des.h5", "fingerprint": "abc"}, weights_sha256="f00"
    )
    data = json.loads(json.dumps(calibration_to_dict(fitted)))
    back = calibration_from_dict(data, source="calibration.json")
    assert back.probability_map == fitted.probability_map
    np.testing.assert_allclose(back.probabilities(test_logits), fitted.probabilities(test_logits))
    assert (
        set(back.curves)
        == set(fitted.curves)
        == ({"uncalibrated"} if method == "none" else {"calibrated", "uncalibrated"})
    )
    for name, curve in fitted.curves.items():
        np.testing.assert_array_equal(back.curves[name].threshold, curve.threshold)
        np.testing.assert_allclose(back.curves[name].purity, curve.purity, atol=1e-6)
        assert len(curve) <= 200
    assert back.fitted_on["store"] == {"path": "des.h5", "fingerprint": "abc"}
    assert back.weights_sha256 == "f00"
    assert calibration_to_dict(back) == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("method"), "lacks 'method'"),
        (lambda d: d.update(format="other"), "not a calibration"),
        (lambda d: d.update(format_version=99), "version 99"),
        (lambda d: d.update(temperature=-2.0), "temperature"),
        (lambda d: d.update(temperature="hot"), "'temperature' has the wrong type"),
        (lambda d: d["curves"]["calibrated"]["threshold"].reverse(), "increasing"),
        (lambda d: d["curves"]["calibrated"].update(purity=[0.5]), "one non-zero length"),
        (lambda d: d["curves"].update(sideways={}), "sideways"),
    ],
)
def test_invalid_dicts_name_the_source_and_field(overconfident, change, message):
    data = calibration_to_dict(fit_calibration(*overconfident[:2]))
    change(data)
    with pytest.raises(InputError, match=message) as info:
        calibration_from_dict(data, source="run/calibration.json")
    assert "run/calibration.json" in str(info.value)


def test_files_beside_the_weights(tmp_path, overconfident):
    calibration = fit_calibration(*overconfident[:2], weights_sha256="aaa")
    run = tmp_path / "run"
    run.mkdir()
    assert calibration_path(run) == run / "calibration.json"
    assert calibration_path(run / "model.safetensors") == run / "calibration.json"
    assert calibration_path(tmp_path / "des.safetensors") == tmp_path / "des.calibration.json"
    write_calibration(calibration, calibration_path(run))
    assert not list(run.glob(".*tmp"))  # written atomically, nothing left behind
    assert read_calibration(run / "calibration.json").probability_map == calibration.probability_map
    assert find_calibration(run, {"weights_sha256": "aaa"}) is not None
    with pytest.raises(InputError, match="fitted for other weights"):
        find_calibration(run, {"weights_sha256": "bbb"})
    # Exported models carry it in their description.
    embedded = {"calibration": calibration_to_dict(calibration)}
    assert find_calibration(tmp_path / "des.safetensors", embedded).method == "temperature"
    assert find_calibration(tmp_path / "des.safetensors", {}) is None
    (run / "calibration.json").write_text("{not json")
    with pytest.raises(InputError, match="calibration.json"):
        find_calibration(run, {})


KNOWN = OperatingCurve(
    threshold=np.array([0.1, 0.3, 0.5, 0.7, 0.9]),
    completeness=np.array([1.0, 0.95, 0.85, 0.6, 0.2]),
    purity=np.array([0.5, 0.7, 0.85, 0.93, 0.99]),
)


@pytest.mark.parametrize(
    ("target", "threshold", "other"),
    [
        ({"target_purity": 0.9}, 0.7, 0.6),
        ({"target_purity": 0.85}, 0.5, 0.85),
        ({"target_purity": 0.5}, 0.1, 1.0),
        ({"target_completeness": 0.9}, 0.3, 0.7),
        ({"target_completeness": 0.6}, 0.7, 0.93),
        ({"target_completeness": 1.0}, 0.1, 0.5),
    ],
)
def test_threshold_for_a_target_on_a_known_curve(target, threshold, other):
    point = choose_operating_point(KNOWN, **target)
    assert point.threshold == threshold
    assert getattr(point, point.other) == other
    assert "expected" in point.describe() and point.to_dict()["threshold"] == threshold


def test_purity_that_is_not_monotone_keeps_the_highest_completeness():
    curve = OperatingCurve(np.array([0.2, 0.4, 0.6]), np.array([1.0, 0.8, 0.5]), np.array([0.8, 0.95, 0.9]))
    assert choose_operating_point(curve, target_purity=0.9).threshold == 0.4


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"target_purity": 0.995}, r"--target-purity 0.995: no threshold reaches it .*highest purity 0.990"),
        ({"target_purity": 0.0}, r"--target-purity: must lie in \(0, 1\]"),
        ({"target_completeness": 1.2}, r"--target-completeness: must lie in \(0, 1\]"),
        ({"target_purity": "high"}, "--target-purity: expected a number"),
        ({}, "give one of"),
        ({"target_purity": 0.9, "target_completeness": 0.5}, "give one of"),
    ],
)
def test_impossible_targets_are_refused(target, message):
    with pytest.raises(InputError, match=message):
        choose_operating_point(KNOWN, **target)


def test_model_operating_point_explains_what_is_missing(overconfident):
    with pytest.raises(InputError, match="run `deepshadows calibrate"):
        model_operating_point("des", None, n_classes=1, target_purity=0.9)
    with pytest.raises(InputError, match="binary models only"):
        model_operating_point("three", None, n_classes=3, target_completeness=0.9)
    with pytest.raises(InputError, match="exclude each other"):
        model_operating_point("des", None, n_classes=1, target_purity=0.9, target_completeness=0.9)
    calibration = fit_calibration(*overconfident[:2])
    point = model_operating_point("run", calibration, n_classes=1, target_purity=0.9)
    raw = model_operating_point("run", calibration, n_classes=1, target_purity=0.9, calibrated=False)
    assert point.probabilities == "calibrated" and raw.probabilities == "uncalibrated"
    # The same selection of the validation objects, in either kind of probability.
    val_logits, val_y = overconfident[:2]
    picked = calibration.probabilities(val_logits) > point.threshold
    picked_raw = expit(val_logits) > raw.threshold
    assert picked.sum() == pytest.approx(picked_raw.sum(), abs=val_y.size / 100)
    assert val_y[picked].mean() >= 0.9


def test_stored_curve_is_the_full_curve_thinned(overconfident):
    val_logits, val_y = overconfident[:2]
    p = expit(val_logits)
    full = completeness_purity_curve(val_y, p)
    curve = operating_curve(val_y, p, max_points=50)
    assert len(curve) == 50 and len(full["threshold"]) > 1000
    assert curve.threshold[0] == full["threshold"][0] and curve.threshold[-1] == full["threshold"][-1]
    index = np.searchsorted(full["threshold"], curve.threshold)
    np.testing.assert_allclose(curve.purity, full["purity"][index])
    with pytest.raises(InputError, match="artifacts"):
        operating_curve([1, 1], [0.2, 0.3])


def test_calibration_describes_itself(overconfident):
    calibration = fit_calibration(*overconfident[:2])
    text = calibration.describe()
    assert text.startswith("calibration temperature T=") and "ECE" in text and "val split" in text
    assert isinstance(calibration, Calibration) and calibration.changes_probabilities
