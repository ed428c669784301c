"""deepshadows: separate low-surface-brightness galaxies from artifacts in survey cutouts.

The main functions are available from the package itself, each the library side of one command
(imported on first use, so ``import deepshadows`` stays light)::

    import deepshadows as ds

    ds.classify("des", "cutouts/", "predictions.csv")  # the released DES model
    store = ds.make_dataset("data/des.h5", ds.SimConfig(survey="des", n=4000, seed=0))
    ds.fit(store, "runs/des", ds.TrainConfig(epochs=20, seed=0))
    ds.evaluate_run("runs/des", store)  # calibrated probabilities when the run has a calibration
    ds.calibrate_run("runs/old", store)  # fit one for a run trained without
    ds.write_report(["runs/des"], "report.html")
"""

from __future__ import annotations

from importlib import import_module
from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("deepshadows")
except _metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

# Public name -> module that defines it; the command that uses it in the comment. Prediction is
# ``classify`` here: the name ``predict`` belongs to the subpackage ``deepshadows.predict``.
_API: dict[str, str] = {
    "SimConfig": "deepshadows.simulate",  # simulate
    "make_dataset": "deepshadows.simulate",  # simulate
    "open_store": "deepshadows.data",  # (reading stores)
    "import_folder": "deepshadows.data",  # import
    "inspect_store": "deepshadows.inspection",  # inspect
    "fetch_catalog": "deepshadows.fetch",  # fetch
    "TrainConfig": "deepshadows.training",  # train
    "fit": "deepshadows.training",  # train
    "evaluate_run": "deepshadows.evaluation.run",  # evaluate
    "calibrate_run": "deepshadows.evaluation.calibrate",  # calibrate
    "classify": "deepshadows.predict",  # predict
    "load_model": "deepshadows.models",  # (any model, or "des"/"hsc")
    "run_baselines": "deepshadows.baselines",  # baselines
    "compare_models": "deepshadows.evaluation.compare",  # compare
    "run_transfer": "deepshadows.transfer",  # transfer
    "explain_run": "deepshadows.explain",  # explain
    "run_study": "deepshadows.studies",  # study
    "write_report": "deepshadows.report",  # report
}

# Public names that differ from the library's own.
_ORIGINAL = {"classify": "predict"}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """Import a public function or class of the package on first use."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'deepshadows' has no attribute {name!r}")
    value = getattr(import_module(module), _ORIGINAL.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the package's public names."""
    return sorted(set(globals()) | set(_API))
