"""A calibration as a plain JSON-able dict, and back, with every field checked.

The dict (``calibration.json`` of a run, or the ``calibration`` entry of an exported model's
description) reads::

    {
      "format": "deepshadows-calibration", "format_version": 1,
      "method": "temperature", "temperature": 1.42,  # or "slope"/"bias", or "knots_x"/"knots_y"
      "curves": {"calibrated": {"split": "val", "threshold": [...], "completeness": [...],
                                "purity": [...]},
                 "uncalibrated": {...}},
      "fitted_on": {"split": "val", "n": 600, "n_lsbg": 301, "store": {...}, "metrics": {...}},
      "sample": {"logit": [-2.3125, 0.87, ...], "label": [0, 1, ...]},
      "weights_sha256": "..."
    }

Platt scaling stores its ``slope`` (a) and ``bias`` (b). Curves store completeness and purity
to 6 decimals; thresholds are kept exactly. ``sample`` (binary models fitted on at most
:data:`~deepshadows.calibration.record.MAX_SAMPLE_OBJECTS` objects, else absent) holds the
fitted objects' float32 logits, each written with the fewest digits that read back to the
same float32, and their labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from deepshadows._io import check_format_version
from deepshadows.calibration.fitting import ProbabilityMap
from deepshadows.calibration.operating import OperatingCurve
from deepshadows.calibration.record import Calibration, CalibrationSample
from deepshadows.errors import InputError

__all__ = ["CALIBRATION_FORMAT", "CALIBRATION_FORMAT_VERSION", "calibration_from_dict", "calibration_to_dict"]

#: Value of the ``format`` key.
CALIBRATION_FORMAT = "deepshadows-calibration"
#: Version of the layout written by :func:`calibration_to_dict`.
CALIBRATION_FORMAT_VERSION = 1
_CURVE_DECIMALS = 6


def _plain(value: Any) -> Any:
    """JSON types only: numpy scalars and arrays become numbers and lists, nan becomes None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def calibration_to_dict(calibration: Calibration) -> dict[str, Any]:
    """Return a calibration as a dict of JSON types.

    Parameters
    ----------
    calibration : Calibration
        The calibration.

    Returns
    -------
    dict
        See the module notes; :func:`calibration_from_dict` reads it back.
    """
    pmap = calibration.probability_map
    out: dict[str, Any] = {
        "format": CALIBRATION_FORMAT,
        "format_version": CALIBRATION_FORMAT_VERSION,
        "method": pmap.method,
    }
    if pmap.method == "temperature":
        out["temperature"] = float(pmap.temperature)
    if pmap.method == "platt":
        out["slope"] = float(pmap.slope)
        out["bias"] = float(pmap.bias)
    if pmap.method == "isotonic":
        out["knots_x"] = [float(v) for v in pmap.knots_x]
        out["knots_y"] = [float(v) for v in pmap.knots_y]
    out["curves"] = {
        name: {
            "split": curve.split,
            "threshold": curve.threshold.tolist(),
            "completeness": np.round(curve.completeness, _CURVE_DECIMALS).tolist(),
            "purity": np.round(curve.purity, _CURVE_DECIMALS).tolist(),
        }
        for name, curve in calibration.curves.items()
    }
    out["fitted_on"] = _plain(dict(calibration.fitted_on))
    if calibration.sample is not None:
        # float32 printed shortest (numpy's repr) then read as a float: short JSON, exact float32.
        out["sample"] = {
            "logit": [float(v) for v in calibration.sample.logits.astype(str)],
            "label": calibration.sample.labels.tolist(),
        }
    out["weights_sha256"] = calibration.weights_sha256
    return out


def _field(data: Mapping[str, Any], key: str, kind: Any, where: str) -> Any:
    if key not in data:
        raise InputError(f"{where}: calibration lacks {key!r}")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{where}: calibration field {key!r} has the wrong type ({type(value).__name__})")
    return value


def calibration_from_dict(data: Any, *, source: str = "calibration") -> Calibration:
    """Read a calibration written by :func:`calibration_to_dict`, checking every field.

    Parameters
    ----------
    data : mapping
        The dict (e.g. parsed from ``calibration.json``).
    source : str, optional
        Where it comes from (a file name), for error messages.

    Returns
    -------
    Calibration
        The calibration.

    Raises
    ------
    deepshadows.errors.InputError
        If ``data`` is not such a dict, its version is newer than this package reads, or a
        field is missing or invalid; the message names ``source`` and the field.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a calibration must be a JSON object, got {type(data).__name__}")
    if data.get("format") != CALIBRATION_FORMAT:
        raise InputError(f"{source}: not a calibration (format {data.get('format')!r})")
    check_format_version(source, data.get("format_version"), CALIBRATION_FORMAT_VERSION, "calibration")
    method = _field(data, "method", str, source)
    try:
        if method == "temperature":
            pmap = ProbabilityMap(method, temperature=_field(data, "temperature", int | float, source))
        elif method == "platt":
            pmap = ProbabilityMap(
                method,
                slope=_field(data, "slope", int | float, source),
                bias=_field(data, "bias", int | float, source),
            )
        elif method == "isotonic":
            x = _field(data, "knots_x", list, source)
            y = _field(data, "knots_y", list, source)
            pmap = ProbabilityMap(method, knots_x=tuple(x), knots_y=tuple(y))
        else:
            pmap = ProbabilityMap(method)
    except (InputError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: invalid calibration ({exc})") from None
    curves = {}
    for name, curve in dict(_field(data, "curves", Mapping, source)).items():
        if name not in ("calibrated", "uncalibrated") or not isinstance(curve, Mapping):
            raise InputError(f"{source}: unknown or malformed curve {name!r}")
        try:
            curves[name] = OperatingCurve(
                np.asarray(curve.get("threshold"), dtype=np.float64),
                np.asarray(curve.get("completeness"), dtype=np.float64),
                np.asarray(curve.get("purity"), dtype=np.float64),
                split=str(curve.get("split", "val")),
            )
        except (InputError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: invalid {name} curve ({exc})") from None
    fitted_on = data.get("fitted_on") or {}
    if not isinstance(fitted_on, Mapping):
        raise InputError(f"{source}: calibration field 'fitted_on' must be an object")
    sha = data.get("weights_sha256")
    if sha is not None and not isinstance(sha, str):
        raise InputError(f"{source}: calibration field 'weights_sha256' must be a string")
    return Calibration(pmap, curves, dict(fitted_on), sha, _sample(data.get("sample"), source))


def _sample(data: Any, source: str) -> CalibrationSample | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: calibration field 'sample' must be an object")
    logits, labels = data.get("logit"), data.get("label")
    if not isinstance(logits, list) or not isinstance(labels, list):
        raise InputError(f"{source}: calibration field 'sample' needs the lists 'logit' and 'label'")
    if any(v is None or isinstance(v, bool) or not isinstance(v, int | float) for v in logits):
        raise InputError(f"{source}: calibration field 'sample': 'logit' must hold finite numbers only")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in labels):
        raise InputError(f"{source}: calibration field 'sample': 'label' must hold 0 or 1 only")
    try:
        return CalibrationSample(np.asarray(logits, dtype=np.float32), np.asarray(labels, dtype=np.int64))
    except (InputError, OverflowError, ValueError) as exc:
        raise InputError(f"{source}: invalid calibration field 'sample' ({exc})") from None
