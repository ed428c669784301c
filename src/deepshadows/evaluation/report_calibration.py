"""The calibration and operating-point sections of an evaluation.

Completeness and purity at round decision thresholds, the LSBG probability of other
probabilities of the same objects, their calibration metrics, the reliability diagram, the
completeness-purity figure and the operating point chosen on the validation split.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.errors import InputError
from deepshadows.metrics.checks import check_prob
from deepshadows.metrics.reliability import ECE_BINS, calibration_metrics, reliability_bins
from deepshadows.viz.reliability import plot_completeness_purity, plot_reliability

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

#: Thresholds of the printed completeness-purity table.
_TABLE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _threshold_table(y: np.ndarray, p: np.ndarray, threshold: float) -> list[dict[str, Any]]:
    """Completeness and purity at a few round thresholds and at the decision threshold."""
    rows = []
    for t in sorted({*_TABLE_THRESHOLDS, float(threshold)}):
        chosen = p > t
        tp = int((chosen & (y == 1)).sum())
        rows.append(
            {
                "threshold": t,
                "selected": int(chosen.sum()),
                "completeness": tp / int(y.sum()),
                "purity": tp / int(chosen.sum()) if chosen.any() else float("nan"),
                "decision": t == float(threshold),
            }
        )
    return rows


def _positive_column(other: Any, pos: int | None, multiclass: bool, n: int, label: Any) -> np.ndarray:
    """Return the LSBG probability of other probabilities of the same objects."""
    if multiclass:
        arr = check_prob(other, f"compare_probabilities[{label!r}]", ndim=2)
        if arr.shape[1] <= int(pos or 0):
            raise InputError(f"compare_probabilities[{label!r}]: has {arr.shape[1]} columns")
        arr = arr[:, int(pos or 0)]
    else:
        arr = check_prob(other, f"compare_probabilities[{label!r}]", ndim=1)
    if arr.shape[0] != n:
        raise InputError(
            f"compare_probabilities[{label!r}]: has {arr.shape[0]} rows but y_true has {n} labels"
        )
    return arr


def _calibration_section(
    result: dict[str, Any],
    out: Path,
    view: tuple[np.ndarray, np.ndarray],
    others: Mapping[str, np.ndarray],
    *,
    name: str,
    probability_label: str | None,
    threshold: float,
    operating_point: Mapping[str, Any] | None,
) -> list[str]:
    """Score and draw the calibration of the LSBG-versus-rest view; return the files drawn.

    Adds ``reliability`` (the bins of the reliability diagram of each set of probabilities,
    the scored ones first), ``compared_calibration`` (when ``others`` holds other
    probabilities) and ``operating_point`` to ``result``, and draws ``reliability.png`` and
    ``completeness_purity.png`` into ``out``.
    """
    yb_all, pb_all = view
    if others:
        result["compared_calibration"] = {
            label: calibration_metrics(yb_all, other) for label, other in others.items()
        }
    probabilities = {probability_label or name: pb_all, **others}
    result["reliability"] = {
        "n_bins": ECE_BINS,
        "curves": {
            label: {k: v for k, v in reliability_bins(yb_all, prob).items() if k != "edges"}
            for label, prob in probabilities.items()
        },
    }
    plot_reliability(yb_all, probabilities, out / "reliability.png", title=name)
    plot_completeness_purity(
        yb_all,
        pb_all,
        out / "completeness_purity.png",
        threshold=threshold,
        operating_point=operating_point,
        title=name,
    )
    files = ["reliability.png", "completeness_purity.png"]
    if operating_point is not None:
        result["operating_point"] = dict(operating_point)
    return files
