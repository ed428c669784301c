"""Comparison of simulated cutout statistics with the real reference values.

Each simulated median is tested against a range around the real value of one reference set
(:data:`~deepshadows.domain.realism_targets.REAL_TARGETS`), and the result is formatted as a
Markdown table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from deepshadows.domain.realism_targets import CHANNELS, MEDIAN_TOLERANCE, STATISTICS, _check_reference
from deepshadows.errors import InputError
from deepshadows.tables import markdown_table

__all__ = ["COMPARISON_COLUMNS", "compare_to_real", "comparison_markdown", "format_statistic"]

#: Column titles of the table of :func:`compare_to_real` (Markdown here, HTML in the report).
COMPARISON_COLUMNS: tuple[str, ...] = (
    "class",
    "statistic",
    "channel",
    "simulated median [p16, p84]",
    "real median",
    "real range",
    "basis",
    "within",
)


def _real_range(
    target: Mapping[str, Sequence[float]], statistic: str, channel: int
) -> tuple[float, float, float, str]:
    """Return (median, low, high, basis) of one real value.

    See :data:`~deepshadows.domain.realism.MEDIAN_TOLERANCE`.
    """
    median = float(target["median"][channel])
    if "p16" in target and "p84" in target:
        return median, float(target["p16"][channel]), float(target["p84"][channel]), "p16-p84"
    kind, value = MEDIAN_TOLERANCE[statistic]
    if kind == "abs":
        return median, median - value, median + value, f"median ± {value:g} DN"
    delta = abs(median) * value
    return median, median - delta, median + delta, f"median ± {value * 100:g} %"


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    """Return the median, 16th and 84th percentiles of the finite values (NaN if none)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    p16, p50, p84 = np.percentile(values, [16, 50, 84])
    return float(p50), float(p16), float(p84)


def compare_to_real(
    stats_by_class: Mapping[str, Mapping[str, np.ndarray]], *, reference: str = "des-dr1"
) -> list[dict[str, Any]]:
    """Compare simulated cutout statistics with the real values of one reference set.

    Parameters
    ----------
    stats_by_class : mapping of str to dict
        For each class (``"lsbg"``, ``"artifact"``), the output of
        :func:`~deepshadows.domain.realism.cutout_statistics` on the simulated cutouts of that
        class.
    reference : {"des-dr1", "ls-dr9"}, optional
        Which real set to compare with (:data:`~deepshadows.domain.realism.REAL_TARGETS`).

    Returns
    -------
    list of dict
        One row per (class, statistic, channel) with keys ``reference``, ``class``,
        ``statistic``, ``channel`` (``"R"``, ``"G"``, ``"B"``), ``n`` (simulated cutouts with a
        finite value), ``sim_median``, ``sim_p16``, ``sim_p84``, ``real_median``, ``real_low``,
        ``real_high``, ``basis`` (how the real range was formed) and ``within`` (whether the
        simulated median lies in ``[real_low, real_high]``).

    Raises
    ------
    deepshadows.errors.InputError
        If the reference set or a class is unknown, or a statistic is missing.

    Notes
    -----
    Where the reference gives a [16th, 84th] percentile range over cutouts (``bg_std`` of
    ``ls-dr9``), that range is used. Elsewhere, and for every des-dr1 value (medians of only
    18 cutouts per class), the range is the real median with the tolerance of
    :data:`~deepshadows.domain.realism.MEDIAN_TOLERANCE`: +/-2 DN for ``bg_median``, +/-20 %
    for ``bg_std`` and +/-30 % for ``clip_frac`` and ``center_excess``. The ``basis`` field of
    each row says which applied.
    """
    targets = _check_reference(reference)
    rows: list[dict[str, Any]] = []
    for cls, stats in stats_by_class.items():
        if cls not in targets:
            raise InputError(f"class {cls!r}: no real values; expected one of {sorted(targets)}")
        for statistic in STATISTICS:
            if statistic not in stats:
                raise InputError(f"class {cls!r}: statistic {statistic!r} is missing")
            values = np.asarray(stats[statistic], dtype=np.float64).reshape(-1, 3)
            for c, channel in enumerate(CHANNELS):
                sim_median, sim_p16, sim_p84 = _summary(values[:, c])
                real_median, low, high, basis = _real_range(targets[cls][statistic], statistic, c)
                rows.append(
                    {
                        "reference": reference,
                        "class": cls,
                        "statistic": statistic,
                        "channel": channel,
                        "n": int(np.isfinite(values[:, c]).sum()),
                        "sim_median": sim_median,
                        "sim_p16": sim_p16,
                        "sim_p84": sim_p84,
                        "real_median": real_median,
                        "real_low": low,
                        "real_high": high,
                        "basis": basis,
                        "within": bool(low <= sim_median <= high),
                    }
                )
    return rows


def format_statistic(statistic: str, value: float) -> str:
    """Format one calibration value: fractions (``clip_frac``) to 3 decimals, DN to 1.

    Parameters
    ----------
    statistic : str
        One of :data:`~deepshadows.domain.realism.STATISTICS`.
    value : float
        The value; NaN or infinite gives ``"n/a"``.

    Returns
    -------
    str
    """
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if statistic == "clip_frac" else f"{value:.1f}"


_VALUE_KEYS = ("sim_median", "sim_p16", "sim_p84", "real_median", "real_low", "real_high")


def comparison_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Format the rows of :func:`compare_to_real` as a Markdown table.

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`compare_to_real`.

    Returns
    -------
    str
        A Markdown table, one line per row, ending with a newline.
    """
    cells = []
    for row in rows:
        stat = row["statistic"]
        v = {key: format_statistic(stat, row[key]) for key in _VALUE_KEYS}
        sim = f"{v['sim_median']} [{v['sim_p16']}, {v['sim_p84']}]"
        cells.append(
            [
                row["class"],
                stat,
                row["channel"],
                sim,
                v["real_median"],
                f"[{v['real_low']}, {v['real_high']}]",
            ]
            + [row["basis"], "yes" if row["within"] else "**no**"]
        )
    return "\n".join(markdown_table(COMPARISON_COLUMNS, cells)) + "\n"
