"""Uncertainty studies: split seeds, label noise and the training-set bootstrap (paper Sec. 6).

Each study retrains the model many times on training sets built from one store without copying
it (:mod:`deepshadows.studies.selections`), runs the trainings as independent, resumable jobs
on local processes or a Dask cluster (:mod:`deepshadows.studies.jobs`,
:mod:`deepshadows.studies.run`), and gathers the shared evaluations into tables and figures
(:mod:`deepshadows.studies.summary`).
"""

from __future__ import annotations

from deepshadows.studies.jobs import StudyJob, run_job
from deepshadows.studies.run import STUDY_KINDS, plan_study, run_study
from deepshadows.studies.selections import (
    NOISE_MODES,
    bootstrap_selection,
    flip_labels,
    noise_selection,
    resplit_selection,
    store_selection,
)

__all__ = [
    "NOISE_MODES",
    "STUDY_KINDS",
    "StudyJob",
    "bootstrap_selection",
    "flip_labels",
    "noise_selection",
    "plan_study",
    "resplit_selection",
    "run_job",
    "run_study",
    "store_selection",
]
