"""Real reference values of the cutout statistics and the tolerances around them.

The real values (:data:`REAL_TARGETS`) come from 254 real 64 x 64 RGB cutouts recovered from
published figures: 36 from the DeepShadows paper's Grad-CAM figure (Tanoglidis et al. 2021,
``des-dr1`` viewer cutouts, 18 per class) and 218 from a public re-implementation that used the
``ls-dr9`` viewer layer (deeper imaging of the same sky; 74 LSBGs and 76 artifacts in its random
sample). The paper set gives medians only; the ``ls-dr9`` set also gives the 16th and 84th
percentiles of ``bg_std``. The statistics themselves are described in
:mod:`deepshadows.domain.realism`.
"""

from __future__ import annotations

from typing import Any

from deepshadows.errors import InputError

__all__ = [
    "STATISTICS",
    "CHANNELS",
    "REAL_TARGETS",
    "REAL_TARGET_SOURCES",
    "MEDIAN_TOLERANCE",
    "reference_note",
]

#: Names of the statistics returned by :func:`~deepshadows.domain.realism.cutout_statistics`,
#: in display order.
STATISTICS: tuple[str, ...] = ("bg_median", "bg_std", "clip_frac", "center_excess")
#: Channel names of the last image axis, as served by the viewer (z -> R, r -> G, g -> B).
CHANNELS: tuple[str, ...] = ("R", "G", "B")

#: Real values per reference set, class and statistic: ``{"median": (R, G, B)}``, plus ``"p16"``
#: and ``"p84"`` where the source gives the [16th, 84th] percentile range over cutouts.
#: Measured on real cutouts (science specification, section 7b); see the module docstring.
REAL_TARGETS: dict[str, dict[str, dict[str, dict[str, tuple[float, float, float]]]]] = {
    "des-dr1": {
        "lsbg": {
            "bg_median": {"median": (36.5, 34.5, 35.0)},
            "bg_std": {"median": (15.5, 9.1, 11.0)},
            "clip_frac": {"median": (0.043, 0.066, 0.047)},
            "center_excess": {"median": (14.0, 16.0, 22.0)},
        },
        "artifact": {
            "bg_median": {"median": (36.5, 35.0, 36.0)},
            "bg_std": {"median": (15.1, 10.1, 11.2)},
            "clip_frac": {"median": (0.041, 0.058, 0.065)},
            "center_excess": {"median": (10.0, 14.5, 16.5)},
        },
    },
    "ls-dr9": {
        "lsbg": {
            "bg_median": {"median": (33.0, 33.0, 33.0)},
            "bg_std": {"median": (6.8, 4.2, 4.9), "p16": (5.8, 3.7, 4.3), "p84": (8.1, 5.4, 6.0)},
            "clip_frac": {"median": (0.042, 0.068, 0.060)},
            "center_excess": {"median": (10.0, 12.0, 15.0)},
        },
        "artifact": {
            "bg_median": {"median": (35.0, 34.0, 34.0)},
            "bg_std": {"median": (7.8, 5.1, 5.9), "p16": (6.7, 4.4, 5.0), "p84": (10.5, 8.9, 9.5)},
            "clip_frac": {"median": (0.081, 0.109, 0.099)},
            "center_excess": {"median": (8.0, 9.0, 9.0)},
        },
    },
}

#: Where each reference set comes from and how many real cutouts per class it summarises.
REAL_TARGET_SOURCES: dict[str, dict[str, Any]] = {
    "des-dr1": {
        "description": "DeepShadows paper (Tanoglidis et al. 2021) Grad-CAM figure, des-dr1 layer",
        "n_cutouts": {"lsbg": 18, "artifact": 18},
    },
    "ls-dr9": {
        "description": "public DeepShadows re-implementation, ls-dr9 layer, random sample",
        "n_cutouts": {"lsbg": 74, "artifact": 76},
    },
}

#: Tolerance around a real median when no percentile range is published, as
#: ``(kind, value)`` with kind ``"abs"`` (DN) or ``"rel"`` (fraction of the real median).
#: The des-dr1 medians come from only 18 cutouts per class, so they are uncertain by about
#: 0.3 times the cutout-to-cutout scatter (standard error of a median, 1.25 sigma / sqrt(18)),
#: i.e. about 5-10 % for ``bg_std`` judging from the ls-dr9 [16, 84] ranges and much more for
#: ``clip_frac`` and ``center_excess``, which depend on the few bright neighbours and targets
#: in the field. The tolerances follow the acceptance checks of the science specification:
#: 2 DN on the sky level (the viewer's offset puts an empty sky at 32 DN; the real medians sit
#: 1-4.5 DN above it), +/-20 % on the background noise (the tolerance of the feature-distribution
#: check) and +/-30 % on the source-pixel fraction and the central excess (the tolerance of the
#: sky-noise check, the loosest of section 7, for the two statistics that scatter most).
MEDIAN_TOLERANCE: dict[str, tuple[str, float]] = {
    "bg_median": ("abs", 2.0),
    "bg_std": ("rel", 0.20),
    "clip_frac": ("rel", 0.30),
    "center_excess": ("rel", 0.30),
}


def _check_reference(reference: str) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    try:
        return REAL_TARGETS[reference]
    except KeyError:
        raise InputError(
            f"reference: unknown set {reference!r}; choose from {sorted(REAL_TARGETS)}"
        ) from None


def reference_note(reference: str) -> str:
    """Describe a set of real reference values and how far its numbers can be trusted.

    Parameters
    ----------
    reference : str
        A key of :data:`REAL_TARGETS` (``"des-dr1"`` or ``"ls-dr9"``).

    Returns
    -------
    str
        A Markdown paragraph to print under the comparison table, ending with a newline.

    Raises
    ------
    deepshadows.errors.InputError
        If ``reference`` is not a known set.
    """
    if reference not in REAL_TARGET_SOURCES:
        raise InputError(f"reference: expected one of {sorted(REAL_TARGET_SOURCES)}, got {reference!r}")
    source = REAL_TARGET_SOURCES[reference]
    counts = ", ".join(f"{n} {cls}" for cls, n in source["n_cutouts"].items())
    return (
        f"Real values: medians over real cutouts ({counts}) of the {source['description']}, "
        "recovered from published figures. Where no percentile range is published, the range is "
        "the real median with a tolerance (column basis). `clip_frac` depends strongly on how "
        "those figures were resampled: the simulated sky keeps plausible galaxy counts rather "
        "than matching it (the project's docs/simulation.md and scripts/calibration_depth.py "
        "show the evidence).\n"
    )
