"""Comparison of a store with a reference store, such as simulated cutouts with real ones.

Cutouts side by side, the section 7b statistics of both stores and the sources that ``sep``
finds in their cutouts, per class, with medians and two-sample KS tests.
"""

from __future__ import annotations

from deepshadows.domain.compare import compare_stores
from deepshadows.domain.sources import detect_sources

__all__ = ["compare_stores", "detect_sources"]
