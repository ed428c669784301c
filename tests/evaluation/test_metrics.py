from __future__ import annotations

import math
import time

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from deepshadows.errors import InputError
from deepshadows.evaluation import (
    BINARY_METRICS,
    Interval,
    binary_metrics,
    bootstrap_metrics,
    confusion,
    multiclass_metrics,
    reduce_to_binary,
    roc_band,
)
from deepshadows.metrics import bootstrap as bootstrap_module


def simulated(n: int, *, seed: int = 0, separation: float = 2.0, decimals: int | None = None):
    """Balanced labels and logistic probabilities from one generating model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = rng.normal(0.0, 1.0, n) + separation * y
    prob = 1.0 / (1.0 + np.exp(-1.5 * (score - separation / 2)))
    if decimals is not None:
        prob = np.round(prob, decimals)
    return y, prob


# --------------------------------------------------------------------------- binary metrics


def test_binary_metrics_hand_computed():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.4, 0.5, 0.1, 0.6, 0.2, 0.3, 0.7, 0.95])
    # Predicted LSBG when p > 0.5: TP = 3 (0.9, 0.8, 0.95), FN = 2 (0.4 and 0.5 on the
    # threshold), FP = 2 (0.6, 0.7), TN = 3.
    m = binary_metrics(y, p)
    assert tuple(m) == BINARY_METRICS
    assert m["accuracy"] == pytest.approx(6 / 10)
    assert m["completeness"] == pytest.approx(3 / 5)
    assert m["purity"] == pytest.approx(3 / 5)
    # Pairs (positive, negative) ranked correctly: 5 * 5 = 25 pairs; the positives 0.4 and
    # 0.5 each lose to 0.6 and 0.7 (4 pairs) -> 21 / 25.
    assert m["auc"] == pytest.approx(21 / 25)
    strict = binary_metrics(y, p, threshold=0.45)
    assert strict["completeness"] == pytest.approx(4 / 5)
    # An (N, 1) column, as a Keras model outputs, is accepted.
    assert binary_metrics(y, p[:, None]) == m


def test_binary_metrics_match_sklearn():
    y, p = simulated(3000, seed=4, decimals=2)
    pred = (p > 0.5).astype(int)
    m = binary_metrics(y.tolist(), p.tolist())
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["completeness"] == pytest.approx(recall_score(y, pred))
    assert m["purity"] == pytest.approx(precision_score(y, pred))
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))


def test_binary_metrics_undefined_values_are_nan():
    m = binary_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert math.isnan(m["auc"])
    assert m["completeness"] == pytest.approx(2 / 3)
    m = binary_metrics([0, 1, 0], [0.1, 0.2, 0.3])
    assert math.isnan(m["purity"]) and m["completeness"] == 0.0
    m = binary_metrics([0, 0], [0.1, 0.9])
    assert math.isnan(m["completeness"]) and m["purity"] == 0.0
    assert binary_metrics([True, False], [0.8, 0.1])["accuracy"] == 1.0


# --------------------------------------------------------------------------- confusion


def test_confusion_counts_and_normalisation():
    y = [0, 0, 0, 1, 1, 1, 1, 1]
    pred = [0, 1, 0, 1, 1, 0, 1, 1]
    cm = confusion(y, pred)
    assert cm.tolist() == [[2, 1], [1, 4]]
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, confusion_matrix(y, pred))
    rows = confusion(y, pred, normalize="true")
    np.testing.assert_allclose(rows, [[2 / 3, 1 / 3], [1 / 5, 4 / 5]])
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    cols = confusion(y, pred, normalize="pred")
    np.testing.assert_allclose(cols.sum(axis=0), 1.0)
    np.testing.assert_allclose(confusion(y, pred, normalize="all").sum(), 1.0)
    # A class without objects gives a zero row, not nan or a warning.
    three = confusion([0, 0, 2], [0, 2, 2], n_classes=3, normalize="true")
    np.testing.assert_allclose(three, [[0.5, 0, 0.5], [0, 0, 0], [0, 0, 1]])
    with pytest.raises(InputError, match="normalize"):
        confusion(y, pred, normalize="rows")
    with pytest.raises(InputError, match="y_pred"):
        confusion(y, pred[:-1])
    with pytest.raises(InputError, match="y_pred"):
        confusion(y, [0, 1, 2, 0, 0, 0, 0, 0])


# --------------------------------------------------------------------------- multi-class


@pytest.fixture
def three_class():
    names = ("LSBG", "artifact 1", "artifact 2")
    y = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    prob = np.array(
        [
            [0.8, 0.1, 0.1],  # LSBG -> LSBG
            [0.6, 0.3, 0.1],  # LSBG -> LSBG
            [0.45, 0.1, 0.45 - 1e-9],  # LSBG -> LSBG by arg-max, but not above 0.5
            [0.2, 0.1, 0.7],  # LSBG -> artifact 2
            [0.1, 0.85, 0.05],  # artifact 1 -> artifact 1
            [0.05, 0.9, 0.05],  # artifact 1 -> artifact 1
            [0.7, 0.2, 0.1],  # artifact 1 -> LSBG
            [0.1, 0.3, 0.6],  # artifact 2 -> artifact 2
            [0.2, 0.5, 0.3],  # artifact 2 -> artifact 1
            [0.3, 0.1, 0.6],  # artifact 2 -> artifact 2
        ]
    )
    return y, prob, names


def test_multiclass_metrics(three_class):
    y, prob, names = three_class
    m = multiclass_metrics(y, prob, class_names=names)
    assert m["confusion"].tolist() == [[3, 0, 1], [1, 2, 0], [0, 1, 2]]
    np.testing.assert_allclose(m["confusion_normalized"].sum(axis=1), 1.0)
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["completeness"] == pytest.approx({"LSBG": 3 / 4, "artifact 1": 2 / 3, "artifact 2": 2 / 3})
    assert m["purity"] == pytest.approx({"LSBG": 3 / 4, "artifact 1": 2 / 3, "artifact 2": 2 / 3})
    pred = prob.argmax(axis=1)
    np.testing.assert_allclose(list(m["completeness"].values()), recall_score(y, pred, average=None))
    np.testing.assert_allclose(list(m["purity"].values()), precision_score(y, pred, average=None))
    assert m["auc"]["LSBG"] == pytest.approx(roc_auc_score(y == 0, prob[:, 0]))
    assert m["support"] == {"LSBG": 4, "artifact 1": 3, "artifact 2": 3}
    assert m["n"] == 10 and m["class_names"] == list(names)
    with pytest.raises(InputError, match="class_names"):
        multiclass_metrics(y, prob, class_names=names[:2])
    with pytest.raises(InputError, match="y_true"):
        multiclass_metrics(np.where(y == 2, 3, y), prob, class_names=names)


def test_reduce_to_binary(three_class):
    y, prob, _ = three_class
    yb, pb = reduce_to_binary(y, prob)
    assert yb.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(pb, prob[:, 0])
    m = binary_metrics(yb, pb)
    # Thresholding P(LSBG) > 0.5: TP = 2, FN = 2 (0.45 and 0.2), FP = 1 (0.7), TN = 5.
    assert m["completeness"] == pytest.approx(2 / 4)
    assert m["purity"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(7 / 10)
    # Merging the arg-max matrix instead counts the 0.45 object as an LSBG.
    merged = confusion(yb, (prob.argmax(axis=1) == 0).astype(int))
    assert merged.tolist() == [[5, 1], [1, 3]]
    y1, p1 = reduce_to_binary(y, prob, positive=2)
    assert y1.sum() == 3 and np.array_equal(p1, prob[:, 2])
    with pytest.raises(InputError, match="positive"):
        reduce_to_binary(y, prob, positive=3)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([], [], "y_true: is empty"),
        ([0, 1, 1], [0.1, 0.2], "prob: has 2 rows"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "y_true: labels must lie in 0..1"),
        ([0, -1, 1], [0.1, 0.2, 0.3], "y_true"),
        ([0, 0.5, 1], [0.1, 0.2, 0.3], "y_true: labels must be integers"),
        (["a", "b"], [0.1, 0.2], "y_true"),
        ([[0, 1]], [0.1, 0.2], "y_true: expected a 1-D"),
        ([0, 1], [0.1, np.nan], "prob: holds 1 non-finite"),
        ([0, 1], [0.1, 1.5], r"prob: probabilities must lie in \[0, 1\]"),
        ([0, 1], [-0.1, 0.5], "prob"),
        ([0, 1], [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], "prob: expected an array of shape"),
    ],
)
def test_bad_inputs_raise(y, p, match):
    with pytest.raises(InputError, match=match):
        binary_metrics(y, p)
    with pytest.raises(InputError):
        bootstrap_metrics(y, p, n_boot=5)


def test_bad_options_raise():
    y, p = simulated(50)
    for kwargs, name in [
        ({"n_boot": 0}, "n_boot"),
        ({"n_boot": 2.5}, "n_boot"),
        ({"level": 1.0}, "level"),
        ({"level": 0}, "level"),
        ({"threshold": float("nan")}, "threshold"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
    ]:
        with pytest.raises(InputError, match=name):
            bootstrap_metrics(y, p, **kwargs)
    with pytest.raises(InputError, match="y_true: an ROC curve needs both classes"):
        roc_band(np.ones(10, int), np.linspace(0, 1, 10), n_boot=5)
    with pytest.raises(InputError, match="grid"):
        roc_band(y, p, n_boot=5, grid=[0.0, 0.5, 0.4, 1.0])


# --------------------------------------------------------------------------- bootstrap


def test_fast_auc_equals_sklearn_with_ties():
    # Scores on a coarse grid: many ties within and across classes.
    y, p = simulated(400, seed=3, decimals=1)
    n_boot, seed = 25, 11
    values, _ = bootstrap_module._run(y, p, n_boot=n_boot, seed=seed, threshold=0.5, grid=None)
    idx = np.random.default_rng(seed).integers(0, y.size, size=(n_boot, y.size), dtype=np.int32)
    expected = [roc_auc_score(y[i], p[i]) for i in idx]
    np.testing.assert_allclose(values["auc"], expected, rtol=0, atol=1e-12)
    acc = [accuracy_score(y[i], p[i] > 0.5) for i in idx]
    np.testing.assert_allclose(values["accuracy"], acc)
    rec = [recall_score(y[i], p[i] > 0.5) for i in idx]
    np.testing.assert_allclose(values["completeness"], rec)
    # All scores tied: AUC exactly one half.
    flat = bootstrap_module._auc_from_counts(np.array([[7]]), np.array([[5]]))
    assert flat[0] == 0.5


def test_bootstrap_percentiles_and_level():
    y, p = simulated(300, seed=5)
    n_boot, seed = 400, 2
    idx = np.random.default_rng(seed).integers(0, y.size, size=(n_boot, y.size), dtype=np.int32)
    correct = (p > 0.5) == (y == 1)
    acc = correct[idx].mean(axis=1)
    for level in (0.95, 0.5):
        iv = bootstrap_metrics(y, p, n_boot=n_boot, seed=seed, level=level)["accuracy"]
        q = [50 * (1 - level), 50 * (1 + level)]
        assert [iv.low, iv.high] == pytest.approx(np.percentile(acc, q).tolist())
    wide = bootstrap_metrics(y, p, n_boot=n_boot, seed=seed, level=0.95)
    narrow = bootstrap_metrics(y, p, n_boot=n_boot, seed=seed, level=0.5)
    for m in BINARY_METRICS:
        assert wide[m].low <= narrow[m].low <= narrow[m].high <= wide[m].high


def test_bootstrap_contains_estimate_and_shrinks_with_data():
    small = bootstrap_metrics(*simulated(200, seed=1), n_boot=500, seed=0)
    large = bootstrap_metrics(*simulated(5000, seed=1), n_boot=500, seed=0)
    for res in (small, large):
        for m in BINARY_METRICS:
            iv = res[m]
            assert isinstance(iv, Interval)
            assert iv.low <= iv.value <= iv.high, (m, iv)
    for m in BINARY_METRICS:
        w_small = small[m].high - small[m].low
        w_large = large[m].high - large[m].low
        # Width scales as 1 / sqrt(n): a factor of 5 for 25 times more data.
        assert w_large < 0.4 * w_small, (m, w_small, w_large)
    d = small["accuracy"].to_dict()
    assert d == {
        "value": small["accuracy"].value,
        "low": small["accuracy"].low,
        "high": small["accuracy"].high,
    }
    assert Interval.from_dict(d) == small["accuracy"]
    assert str(Interval(0.92, 0.9123, 0.9271)) == "0.920 [0.912, 0.927]"


def test_bootstrap_is_deterministic_and_independent_of_blocks(monkeypatch):
    y, p = simulated(500, seed=7)
    a = bootstrap_metrics(y, p, n_boot=300, seed=3)
    assert bootstrap_metrics(y, p, n_boot=300, seed=3) == a
    assert bootstrap_metrics(y, p, n_boot=300, seed=4) != a
    band = roc_band(y, p, n_boot=300, seed=3)
    # Processing one resample at a time draws exactly the same index matrix.
    monkeypatch.setattr(bootstrap_module, "_CHUNK_ELEMENTS", 1)
    assert bootstrap_metrics(y, p, n_boot=300, seed=3) == a
    again = roc_band(y, p, n_boot=300, seed=3)
    np.testing.assert_array_equal(again["low"], band["low"])
    np.testing.assert_array_equal(again["high"], band["high"])


def test_bootstrap_skips_resamples_without_a_class():
    # Two LSBGs among 30 objects: some resamples draw none; no warning, finite bounds.
    y = np.zeros(30, int)
    y[:2] = 1
    p = np.linspace(0.05, 0.95, 30)[::-1]
    res = bootstrap_metrics(y, p, n_boot=200, seed=0)
    assert all(np.isfinite([res[m].low, res[m].high]).all() for m in BINARY_METRICS)


# --------------------------------------------------------------------------- ROC band


def test_roc_band():
    y, p = simulated(2000, seed=8, separation=1.5)
    band = roc_band(y, p, n_boot=400, seed=1)
    for key in ("fpr", "tpr", "low", "high"):
        assert band[key].shape == (201,)
    np.testing.assert_allclose(band["fpr"], np.linspace(0, 1, 201))
    for key in ("tpr", "low", "high"):
        assert (np.diff(band[key]) >= 0).all(), key
        assert band[key][-1] == pytest.approx(1.0)
    assert (band["low"] <= band["high"]).all()
    inside = (band["low"] <= band["tpr"] + 1e-12) & (band["tpr"] <= band["high"] + 1e-12)
    assert inside.all(), np.flatnonzero(~inside)
    # The full-set curve is the linear interpolation of sklearn's ROC points.
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(band["tpr"], np.interp(band["fpr"], fpr, tpr), atol=1e-12)
    # Same seed, same resamples: the AUC interval agrees with bootstrap_metrics.
    assert band["auc"] == bootstrap_metrics(y, p, n_boot=400, seed=1)["auc"]
    assert band["n_boot"] == 400 and band["level"] == 0.95 and band["n"] == 2000

    grid = np.array([0.0, 0.1, 0.5, 1.0])
    coarse = roc_band(y, p, n_boot=50, seed=1, grid=grid)
    assert coarse["low"].shape == (4,)
    np.testing.assert_allclose(coarse["tpr"], np.interp(grid, fpr, tpr), atol=1e-12)


def test_roc_band_vertical_steps_take_the_upper_value():
    # One positive above every negative, then a tie between a positive and a negative.
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.5, 0.5, 0.1])
    band = roc_band(y, p, n_boot=20, grid=[0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(band["tpr"], [0.5, 0.75, 1.0, 1.0])


def test_bootstrap_speed_sanity():
    y, p = simulated(5000, seed=9, decimals=3)
    start = time.perf_counter()
    res = bootstrap_metrics(y, p, n_boot=1000, seed=0)
    elapsed = time.perf_counter() - start
    print(f"bootstrap_metrics: 1000 resamples of 5000 objects in {elapsed:.2f} s")  # noqa: T201
    assert res["auc"].low < res["auc"].value < res["auc"].high
