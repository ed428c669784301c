"""Figures for inspecting data sets: contact sheets and feature distributions.

matplotlib is imported only when a figure is drawn, and figures are rendered off-screen
without touching pyplot's backend, so the functions work the same in scripts and notebooks.
"""

from __future__ import annotations

from deepshadows.viz.contact_sheet import SUBCLASS_NAMES, contact_sheet, group_label
from deepshadows.viz.features import feature_distributions

__all__ = ["SUBCLASS_NAMES", "contact_sheet", "feature_distributions", "group_label"]
