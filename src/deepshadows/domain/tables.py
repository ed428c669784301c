"""Numbers of a store-to-reference comparison: medians, percentiles and two-sample KS tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from deepshadows.domain.realism import CHANNELS, STATISTICS, _summary, format_statistic
from deepshadows.tables import markdown_table

__all__ = [
    "SOURCE_QUANTITIES",
    "calibration_rows",
    "calibration_table",
    "ks_two_sample",
    "source_quantities",
    "source_rows",
    "source_table",
]

#: Quantities of the sources found by ``sep``, in display order, with their descriptions.
SOURCE_QUANTITIES: dict[str, str] = {
    "n_sources": "sources per cutout",
    "a": "semi-major axis a (px)",
    "flux_radius": "half-flux radius (px)",
    "mag_B": "instrumental magnitude B",
    "B-R": "colour B - R (mag)",
}


def source_quantities(found: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Return the compared quantities of one set of cutouts from its ``sep`` measurements.

    Parameters
    ----------
    found : mapping
        Output of :func:`deepshadows.domain.sources.detect_sources`.

    Returns
    -------
    dict of str to ndarray
        The :data:`SOURCE_QUANTITIES`: ``n_sources`` one value per cutout, the others one per
        source.
    """
    src = found["sources"]
    return {
        "n_sources": np.asarray(found["n_sources"], dtype=np.float64),
        "a": src["a"],
        "flux_radius": src["flux_radius"],
        "mag_B": src["mag_B"],
        "B-R": src["mag_B"] - src["mag_R"],
    }


def ks_two_sample(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value of the finite values of two samples.

    Parameters
    ----------
    first, second : ndarray
        The samples; NaN and infinite values are left out.

    Returns
    -------
    tuple of float
        ``(D, p)``; both NaN when either sample has no finite value.
    """
    from scipy.stats import ks_2samp

    first = np.asarray(first, dtype=np.float64).ravel()
    second = np.asarray(second, dtype=np.float64).ravel()
    first, second = first[np.isfinite(first)], second[np.isfinite(second)]
    if first.size == 0 or second.size == 0:
        return float("nan"), float("nan")
    result = ks_2samp(first, second)
    return float(result.statistic), float(result.pvalue)


def _pair(values: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, Any]:
    """Median, percentiles and count of each of the two samples, and their KS test."""
    row: dict[str, Any] = {}
    for side, name in zip(("store", "reference"), names, strict=True):
        v = np.asarray(values[name], dtype=np.float64).ravel()
        median, p16, p84 = _summary(v)
        row |= {f"{side}_n": int(np.isfinite(v).sum()), f"{side}_median": median}
        row |= {f"{side}_p16": p16, f"{side}_p84": p84}
    row["ks_d"], row["ks_p"] = ks_two_sample(values[names[0]], values[names[1]])
    return row


def calibration_rows(
    stats: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]], names: Sequence[str]
) -> list[dict[str, Any]]:
    """Compare the section 7b statistics of two sets of cutouts per class and channel.

    Parameters
    ----------
    stats : mapping
        ``stats[name][cls]`` is the output of
        :func:`deepshadows.domain.realism.cutout_statistics` for the cutouts of class ``cls``
        of the set ``name``.
    names : sequence of str
        The store's and the reference's name, keys of ``stats``.

    Returns
    -------
    list of dict
        One row per (class, statistic, channel): ``class``, ``statistic``, ``channel``,
        ``store_n``, ``store_median``, ``store_p16``, ``store_p84``, the same for
        ``reference`` and the KS test ``ks_d``, ``ks_p``.
    """
    rows = []
    for cls in stats[names[0]]:
        for statistic in STATISTICS:
            for c, channel in enumerate(CHANNELS):
                values = {n: np.asarray(stats[n][cls][statistic]).reshape(-1, 3)[:, c] for n in names}
                head = {"class": cls, "statistic": statistic, "channel": channel}
                rows.append(head | _pair(values, names))
    return rows


def source_rows(
    quantities: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]], names: Sequence[str]
) -> list[dict[str, Any]]:
    """Compare the ``sep`` source quantities of two sets of cutouts per class.

    Parameters
    ----------
    quantities : mapping
        ``quantities[name][cls]`` is the output of :func:`source_quantities`.
    names : sequence of str
        The store's and the reference's name, keys of ``quantities``.

    Returns
    -------
    list of dict
        One row per (class, quantity) with the keys of :func:`calibration_rows` but
        ``quantity`` in place of ``statistic`` and ``channel``.
    """
    rows = []
    for cls in quantities[names[0]]:
        for quantity in SOURCE_QUANTITIES:
            values = {n: quantities[n][cls][quantity] for n in names}
            rows.append({"class": cls, "quantity": quantity} | _pair(values, names))
    return rows


def _cell(row: Mapping[str, Any], side: str, fmt: Any) -> str:
    return f"{fmt(row[f'{side}_median'])} [{fmt(row[f'{side}_p16'])}, {fmt(row[f'{side}_p84'])}]"


def _ks(row: Mapping[str, Any]) -> list[str]:
    if not np.isfinite(row["ks_d"]):
        return ["n/a", "n/a"]
    return [f"{row['ks_d']:.2f}", f"{row['ks_p']:.2g}"]


def calibration_table(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """Format :func:`calibration_rows` as a Markdown table.

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`calibration_rows`.
    names : sequence of str
        The store's and the reference's name, for the column headers.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    header = ["class", "statistic", "channel", *(f"{n} median [p16, p84]" for n in names[:2]), "KS D", "KS p"]
    cells = []
    for row in rows:

        def fmt(value: float, stat: str = row["statistic"]) -> str:
            return format_statistic(stat, value)

        cells.append(
            [
                row["class"],
                row["statistic"],
                row["channel"],
                _cell(row, "store", fmt),
                _cell(row, "reference", fmt),
            ]
            + _ks(row)
        )
    return "\n".join(markdown_table(header, cells)) + "\n"


def source_table(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """Format :func:`source_rows` as a Markdown table.

    Parameters
    ----------
    rows : sequence of dict
        Output of :func:`source_rows`.
    names : sequence of str
        The store's and the reference's name, for the column headers.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    header = [
        "class",
        "quantity",
        *(f"n {n}" for n in names[:2]),
        *(f"{n} median [p16, p84]" for n in names[:2]),
        "KS D",
        "KS p",
    ]

    def fmt(value: float) -> str:
        return "n/a" if not np.isfinite(value) else f"{value:.2f}"

    cells = [
        [row["class"], SOURCE_QUANTITIES[row["quantity"]], str(row["store_n"]), str(row["reference_n"])]
        + [_cell(row, "store", fmt), _cell(row, "reference", fmt), *_ks(row)]
        for row in rows
    ]
    return "\n".join(markdown_table(header, cells)) + "\n"
