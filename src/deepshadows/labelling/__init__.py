"""Labelling: a browser page for labelling cutouts, fine-tuning on the labels, and its simulation.

The page shows the cutouts the model is least sure of first; the labels go to an append-only
file; a fine-tuning on them re-orders what is left; the curve shows how many labels this saves.
"""

from __future__ import annotations

from deepshadows.data.label_file import LABELS, LabelFile, read_labels, replay
from deepshadows.labelling.acquisition import (
    METHODS,
    acquisition_scores,
    bald,
    diverse_order,
    embed,
    entropy,
    stochastic_probabilities,
)
from deepshadows.labelling.curve import active_learning_curve, labels_to_reach
from deepshadows.labelling.finetune import finetune_from_labels
from deepshadows.labelling.session import ORDERS, LabelSession

__all__ = [
    "LABELS",
    "METHODS",
    "ORDERS",
    "LabelFile",
    "LabelSession",
    "acquisition_scores",
    "active_learning_curve",
    "bald",
    "diverse_order",
    "embed",
    "entropy",
    "finetune_from_labels",
    "labels_to_reach",
    "read_labels",
    "replay",
    "stochastic_probabilities",
]
