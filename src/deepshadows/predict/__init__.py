"""Streaming prediction: apply a trained classifier to a store, a folder of images or one image.

:func:`predict` writes one CSV row per cutout, batch by batch, so memory stays bounded by the
batch size whatever the number of cutouts; an interrupted run continues with ``resume=True``.
"""

from __future__ import annotations

from deepshadows.predict.batch import logits_to_probabilities, predict_logits
from deepshadows.predict.inputs import STORE_SUFFIXES, iter_input
from deepshadows.predict.run import predict

__all__ = ["STORE_SUFFIXES", "iter_input", "logits_to_probabilities", "predict", "predict_logits"]
