"""Summaries of a store for a person to look at: counts, contact sheet, features and realism.

The ``inspect`` command writes them with :func:`inspect_store` (:mod:`.summary`).
"""

from __future__ import annotations

from deepshadows.inspection.summary import calibration_summary, default_summary_dir, inspect_store

__all__ = ["calibration_summary", "default_summary_dir", "inspect_store"]
