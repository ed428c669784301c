"""The objects a user's label table names, with its labels, as logits of a model.

``evaluate --labels`` and ``calibrate --labels`` read the labelled sample through
:func:`deepshadows.data.labelled_sample.load_labelled_sample`; this is where the model meets it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from deepshadows.errors import InputError

__all__ = ["labelled_logits"]


def labelled_logits(
    model: Any,
    meta: dict[str, Any],
    data_path: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None,
    match_radius_arcsec: float | None,
    id_column: str | None,
    label_column: str | None,
    device: str,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return the logits and labels of the objects a label table (or the data itself) labels.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, on ``device``.
    meta : dict
        Its description (for the cutout size it takes).
    data_path : path-like
        Store or ``.npz`` of cutouts.
    labels : path-like, optional
        Label table (see :func:`deepshadows.data.labelled_sample.load_labelled_sample`); None
        takes the labelled rows of ``data_path``.
    match_radius_arcsec : float, optional
        Match the table by ra/dec within this radius instead of by id.
    id_column, label_column : str, optional
        The table's id and label columns (found by name by default).
    device : str
        Where the model runs.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    logits : ndarray
        One per labelled object.
    labels : ndarray of int
        1 = LSBG, 0 = artifact.
    where : dict
        What to record about the objects: the data, the table, the match and their splits.

    Raises
    ------
    deepshadows.errors.InputError
        If the table or the data cannot be read, nothing matches, or the cutouts are not of the
        size the model takes; the message names the file or row.
    """
    from deepshadows.data.labelled_sample import load_labelled_sample
    from deepshadows.models.forward import predict_logits
    from deepshadows.predict.model_settings import _image_size

    sample = load_labelled_sample(
        data_path,
        labels,
        match_radius_arcsec=match_radius_arcsec,
        id_column=id_column,
        label_column=label_column,
    )
    size = _image_size(meta)
    if sample.images.shape[1:3] != (size, size):
        height, width = sample.images.shape[1:3]
        raise InputError(
            f"{data_path}: cutouts of {height}x{width} pixels, but the model takes {size}x{size}"
        )
    logits = predict_logits(model, sample.images, device=device, batch_size=batch_size)
    where = {
        "path": str(data_path),
        "labels": None if labels is None else str(labels),
        "match_radius_arcsec": match_radius_arcsec,
        "source": sample.source,
    }
    if "split" in sample.groups:
        splits, counts = np.unique(sample.groups["split"], return_counts=True)
        where["splits"] = {str(k): int(v) for k, v in zip(splits, counts, strict=True)}
    return logits, sample.labels, where
