"""Unsupervised domain adaptation: align the network's features of simulated and target cutouts."""

from __future__ import annotations

from deepshadows.adapt.alignment import ALIGNMENT_LOSSES, FeatureAlignment
from deepshadows.adapt.target import TargetBatches

__all__ = ["ALIGNMENT_LOSSES", "FeatureAlignment", "TargetBatches"]
