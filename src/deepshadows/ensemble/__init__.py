"""Ensembles of networks trained with different seeds, kept and loaded as one run folder.

:func:`fit_ensemble` trains the members (one after another, or in parallel on Dask) into
``<out>/members/<i>/`` and describes them in ``<out>/ensemble.json`` (:mod:`.layout`); the
ensemble's probability is the members' mean and their standard deviation its uncertainty
(:mod:`.combine`). Every command that loads a model from a run folder accepts an ensemble
folder (:func:`load_ensemble`, called by :func:`deepshadows.models.load_model`), and the
ensemble is calibrated as a whole on the validation split (:mod:`.calibrate`).
"""

from __future__ import annotations

from deepshadows.ensemble.calibrate import calibrate_ensemble
from deepshadows.ensemble.fit import fit_ensemble
from deepshadows.models.ensemble import EnsembleClassifier, EnsembleModule, load_ensemble, member_logits
from deepshadows.models.ensemble_combine import combine_member_logits, member_outputs
from deepshadows.models.ensemble_layout import (
    ENSEMBLE_NAME,
    MEMBERS_FOLDER,
    combined_sha256,
    is_ensemble,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)

__all__ = [
    "ENSEMBLE_NAME",
    "MEMBERS_FOLDER",
    "EnsembleClassifier",
    "EnsembleModule",
    "calibrate_ensemble",
    "combine_member_logits",
    "combined_sha256",
    "fit_ensemble",
    "is_ensemble",
    "load_ensemble",
    "member_folder",
    "member_logits",
    "member_outputs",
    "read_ensemble_description",
    "write_ensemble_description",
]
