"""Streaming prediction: apply a trained classifier to a store, a folder of images or one image.

:func:`predict` writes one row per cutout, batch by batch, so memory stays bounded by the
batch size whatever the number of cutouts; an interrupted run continues with ``resume=True``.
The table is CSV, FITS, Parquet, ECSV or VOTable (:data:`TABLE_FORMATS`), or the user's
catalogue with the prediction columns added (:class:`CatalogJoin`).
"""

from __future__ import annotations

from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.predict.catalog_join import CatalogJoin, JoinReport
from deepshadows.predict.inputs import STORE_SUFFIXES, iter_input
from deepshadows.predict.run import predict
from deepshadows.tables import TABLE_FORMATS

__all__ = [
    "STORE_SUFFIXES",
    "TABLE_FORMATS",
    "CatalogJoin",
    "JoinReport",
    "iter_input",
    "logits_to_probabilities",
    "predict",
    "predict_logits",
]
