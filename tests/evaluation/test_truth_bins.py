"""``evaluate --by``: metrics in bins of a simulated truth parameter."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.evaluation.truth_bins import metrics_by_truth, truth_axis
from deepshadows.simulate.truth import AXES
from deepshadows.store.reader import open_store


def test_metrics_by_truth_bins_lsbgs_and_keeps_artifacts_apart() -> None:
    y = np.array([1, 1, 1, 0, 0])
    prob = np.array([0.9, 0.2, 0.8, 0.7, 0.1])
    mu = np.array([24.1, 24.2, 26.6, np.nan, np.nan])
    rows = metrics_by_truth(y, prob, mu, AXES["mu_eff"], threshold=0.5)
    by_name = {row["bin"]: row for row in rows}
    assert by_name["24-24.25"]["n_lsbg"] == 2 and by_name["24-24.25"]["completeness"] == 0.5
    assert by_name["26.5-26.75"]["completeness"] == 1.0
    assert by_name["no value"]["n_artifact"] == 2 and by_name["no value"]["completeness"] is None
    assert truth_axis("colour").column == "g_i"
    with pytest.raises(InputError, match="--by: unknown axis"):
        truth_axis("brightness")


def test_evaluate_by_mu_eff_on_a_simulated_store(tmp_path: Path, one_torch_thread) -> None:
    from deepshadows.cli.main import main
    from deepshadows.simulate import SimConfig, make_dataset

    store = make_dataset(
        tmp_path / "sim.h5",
        SimConfig(n=12, seed=1, randomize="none", max_attempts=2),
        workers=1,
        progress=False,
    )
    out = tmp_path / "eval"
    args = ["evaluate", "des", "--data", str(store), "--split", "train", "--out", str(out), "--n-boot", "20"]
    assert main([*args, "--by", "mu_eff"]) == 0
    with (out / "by_mu_eff.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    with open_store(store) as opened:
        n_train = len(opened.indices("train"))
    assert sum(int(r["n"]) for r in rows) == n_train
    assert any(r["bin"] == "no value" for r in rows)
    assert json.loads((out / "metrics.json").read_text())["by_truth"]["axis"] == "mu_eff"
