"""Completeness and contamination: the selection function of a model, by injection and recovery.

Simulated LSBGs of known truth (on a grid of surface brightness, size, Sersic index, axis ratio
and colour, or from the catalogue prior) are injected into simulated fields or into real
cutouts fetched with ``fetch --fits``, measured and preselected as the catalogue search does,
and classified. The fractions that survive in bins of the truth are the completeness of the
preselection, the classifier and both; simulated artifacts of each subclass give the
contamination. See ``docs/completeness.md``.

Modules: :mod:`~deepshadows.simulate.truth` (axes and sampling of the truth),
:mod:`~deepshadows.completeness.backgrounds` (real cutouts to inject into),
:mod:`~deepshadows.completeness.inject` (one injection), :mod:`~deepshadows.completeness.classify`
(the model), :mod:`~deepshadows.completeness.tables` and :mod:`~deepshadows.completeness.figures`
(the outputs) and :mod:`~deepshadows.completeness.run` (the whole run).
"""

from __future__ import annotations

from deepshadows.completeness.inject import inject_lsbg
from deepshadows.completeness.run import SUMMARY_FILE, CompletenessConfig, run_completeness
from deepshadows.completeness.tables import STAGES, binned_completeness, mu_at_completeness
from deepshadows.metrics.binomial import binomial_interval
from deepshadows.simulate.truth import AXES, DEFAULT_GRID, draw_truths, parse_grid

__all__ = [
    "AXES",
    "DEFAULT_GRID",
    "STAGES",
    "SUMMARY_FILE",
    "CompletenessConfig",
    "binned_completeness",
    "binomial_interval",
    "draw_truths",
    "inject_lsbg",
    "mu_at_completeness",
    "parse_grid",
    "run_completeness",
]
