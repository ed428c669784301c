"""The truth axes of the injected LSBGs; they live in :mod:`deepshadows.simulate.truth`.

Kept so that ``deepshadows.completeness.truth`` goes on working; new code imports from
:mod:`deepshadows.simulate.truth`.
"""

from __future__ import annotations

from deepshadows.simulate.truth import AXES, DEFAULT_GRID, Axis, draw_truths, parse_grid

__all__ = ["AXES", "DEFAULT_GRID", "Axis", "draw_truths", "parse_grid"]
