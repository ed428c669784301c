"""Score a model on the real development set of labelled LSBG / artifact cutouts.

The development set is a NumPy ``.npz`` file of real 64 x 64 RGB cutouts with expert labels.
It is not shipped with the package: its path is given as an argument or by the environment
variable :data:`REALDEV_ENV`. Its fields are described by :class:`RealDev`; its two parts
(``selection``) measure different things, typical performance on a random sample of candidates
and the hard tail chosen by earlier models, and are scored separately, never pooled.

The set is for evaluation only: the decision threshold is fixed at 0.5 and nothing here is
meant for choosing epochs, thresholds or hyper-parameters. Metrics and intervals come from
:func:`~deepshadows.metrics.bootstrap.bootstrap_metrics`, probabilities from
:func:`~deepshadows.predict.loading.load_classifier`, as for every other evaluation.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.errors import InputError
from deepshadows.evaluation.report_writers import _plain
from deepshadows.metrics.bootstrap import bootstrap_metrics
from deepshadows.metrics.checks import check_labels
from deepshadows.models.forward import FORWARD_BATCH

__all__ = [
    "DECISIONS",
    "REALDEV_ENV",
    "SELECTIONS",
    "RealDev",
    "load_realdev",
    "realdev_groups",
    "realdev_probabilities",
    "resolve_realdev_path",
    "score_probabilities",
    "score_realdev",
    "to_json",
]

#: Environment variable holding the default path of the development set.
REALDEV_ENV = "DEEPSHADOWS_REALDEV"
#: The two parts of the set, reported separately.
SELECTIONS: tuple[str, ...] = ("random", "model_selected")
#: Outcomes of the selecting model recorded for model-selected cutouts.
DECISIONS: tuple[str, ...] = ("TP", "TN", "FP", "FN")
#: Decision threshold of every realdev score (fixed: the set may not be used to choose one).
THRESHOLD = 0.5
_IMAGE_SHAPE = (64, 64, 3)
_REQUIRED = ("images", "label", "selection", "layer", "model_decision")
_OPTIONAL = ("model_p_range", "resize_method", "source")


@dataclass(frozen=True)
class RealDev:
    """The development set, validated.

    Parameters
    ----------
    path : pathlib.Path
        File it was read from.
    images : ndarray of uint8, shape (N, 64, 64, 3)
        Cutouts, channels last, as the Legacy Survey viewer renders them.
    label : ndarray of int64, shape (N,)
        1 = LSBG, 0 = artifact.
    selection : ndarray of str, shape (N,)
        ``random`` (a random sample of candidates) or ``model_selected`` (chosen by earlier
        models for figures of their mistakes and borderline cases).
    layer : ndarray of str, shape (N,)
        Viewer layer of each cutout (``des-dr1``, ``ls-dr9``, ...).
    model_decision : ndarray of str, shape (N,)
        For model-selected cutouts the outcome (``TP``, ``TN``, ``FP``, ``FN``) of the model
        that chose it; empty for random ones.
    extra : dict of str to ndarray
        The optional fields present in the file (``model_p_range``, ``resize_method``,
        ``source``), each of shape (N,).
    """

    path: Path
    images: np.ndarray
    label: np.ndarray
    selection: np.ndarray
    layer: np.ndarray
    model_decision: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.label.size)


def resolve_realdev_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of the development set: ``path``, else the environment variable.

    Parameters
    ----------
    path : path-like, optional
        The ``.npz`` file; by default the value of :data:`REALDEV_ENV`.

    Returns
    -------
    pathlib.Path
        The file, which exists.

    Raises
    ------
    deepshadows.errors.InputError
        If no path is given and the variable is unset, or the file does not exist.
    """
    if path is None or str(path) == "":
        value = os.environ.get(REALDEV_ENV, "")
        if not value:
            raise InputError(
                f"realdev: no development set given; pass its .npz path (realdev=..., --realdev) "
                f"or set {REALDEV_ENV}"
            )
        path = value
    out = Path(path)
    if not out.is_file():
        raise InputError(f"{out}: development set not found (realdev)")
    return out


def _strings(data: Mapping[str, np.ndarray], name: str, n: int, where: Path) -> np.ndarray:
    arr = np.asarray(data[name])
    if arr.ndim != 1 or arr.size != n:
        raise InputError(f"{where}: field {name!r} has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind not in "US":
        raise InputError(f"{where}: field {name!r} must hold strings, got dtype {arr.dtype}")
    return arr.astype(str)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz development set ({exc})") from exc


def load_realdev(path: str | os.PathLike[str] | None = None) -> RealDev:
    """Read and validate the development set.

    Parameters
    ----------
    path : path-like, optional
        The ``.npz`` file (see :func:`resolve_realdev_path`).

    Returns
    -------
    RealDev
        The validated set.

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing or unreadable, a required field is absent, or a field has the
        wrong type, shape or values; the message names the file and the field.
    """
    where = resolve_realdev_path(path)
    data = _read_npz(where)
    if missing := [name for name in _REQUIRED if name not in data]:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)} (required: {', '.join(_REQUIRED)})")
    images = np.asarray(data["images"])
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != _IMAGE_SHAPE or not len(images):
        raise InputError(
            f"{where}: field 'images' must be uint8 of shape (N, 64, 64, 3) with N > 0, "
            f"got {images.dtype} {images.shape}"
        )
    n = images.shape[0]
    if (label := np.asarray(data["label"])).shape != (n,):
        raise InputError(f"{where}: field 'label' has shape {label.shape}, expected ({n},)")
    label = check_labels(label, f"{where}: field 'label'")
    selection = _strings(data, "selection", n, where)
    if unknown := sorted(set(selection.tolist()) - set(SELECTIONS)):
        raise InputError(f"{where}: field 'selection' holds {unknown}; expected {', '.join(SELECTIONS)}")
    if ((layer := _strings(data, "layer", n, where)) == "").any():
        raise InputError(f"{where}: field 'layer' is empty in {int((layer == '').sum())} row(s)")
    decision = _strings(data, "model_decision", n, where)
    bad = (selection == "model_selected") & ~np.isin(decision, DECISIONS)
    if bad.any():
        raise InputError(
            f"{where}: field 'model_decision' must be one of {', '.join(DECISIONS)} for model-selected "
            f"rows; {int(bad.sum())} row(s) hold {sorted(set(decision[bad].tolist()))}"
        )
    extra = {name: _strings(data, name, n, where) for name in _OPTIONAL if name in data}
    return RealDev(where, images, label, selection, layer, decision, extra)


def _group(selection: str, layer: str | None, decision: str | None, mask: np.ndarray) -> dict[str, Any]:
    return {"selection": selection, "layer": layer, "model_decision": decision, "mask": mask}


def realdev_groups(data: RealDev) -> dict[str, dict[str, Any]]:
    """Return the subsets of the set that are scored, each within one selection.

    For each selection present: the whole selection, each of its layers, and for
    ``model_selected`` each outcome of the selecting model. Selections are never pooled.

    Parameters
    ----------
    data : RealDev
        The development set.

    Returns
    -------
    dict of str to dict
        Group name (``"random"``, ``"random / ls-dr9"``, ``"model_selected / FN"``, ...) ->
        ``selection``, ``layer`` and ``model_decision`` (``None`` where the group does not
        restrict it) and ``mask`` (boolean array of shape (N,)), in a stable order.
    """
    groups: dict[str, dict[str, Any]] = {}
    for sel in SELECTIONS:
        in_sel = data.selection == sel
        if not in_sel.any():
            continue
        groups[sel] = _group(sel, None, None, in_sel)
        for layer in sorted(set(data.layer[in_sel])):
            mask = in_sel & (data.layer == layer)
            groups[f"{sel} / {layer}"] = _group(sel, layer, None, mask)
        if sel != "model_selected":
            continue
        for decision in DECISIONS:
            mask = in_sel & (data.model_decision == decision)
            if mask.any():
                groups[f"{sel} / {decision}"] = _group(sel, None, decision, mask)
    return groups


def score_probabilities(
    data: RealDev, prob: Any, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Metrics with bootstrap intervals of given LSBG probabilities, for every group.

    Parameters
    ----------
    data : RealDev
        The development set.
    prob : array-like of shape (N,)
        Probability of being an LSBG of each cutout, in the set's order.
    n_boot : int, optional
        Bootstrap resamples of each group.
    seed : int, optional
        Seed of the resampling (the same for every group).

    Returns
    -------
    dict of str to dict
        Group name (see :func:`realdev_groups`) -> ``selection``, ``layer``,
        ``model_decision``, ``n``, ``n_lsbg``, ``n_artifact`` and ``intervals`` (metric ->
        :class:`~deepshadows.metrics.bootstrap.Interval`, from
        :func:`~deepshadows.metrics.bootstrap.bootstrap_metrics` at threshold 0.5; a metric
        undefined on the group, such as the AUC of a one-class group, is ``nan``).

    Raises
    ------
    deepshadows.errors.InputError
        If ``prob`` does not hold one valid probability per cutout or an option is invalid.
    """
    p = np.asarray(prob, dtype=np.float64)
    if p.shape != (len(data),):
        raise InputError(f"prob: expected shape ({len(data)},), one per cutout of {data.path}, got {p.shape}")
    out: dict[str, dict[str, Any]] = {}
    for name, group in realdev_groups(data).items():
        mask = group["mask"]
        y = data.label[mask]
        out[name] = {
            "selection": group["selection"],
            "layer": group["layer"],
            "model_decision": group["model_decision"],
            "n": int(mask.sum()),
            "n_lsbg": int(y.sum()),
            "n_artifact": int((y == 0).sum()),
            "intervals": bootstrap_metrics(y, p[mask], n_boot=n_boot, seed=seed, threshold=THRESHOLD),
        }
    return out


def _lsbg_column(prob: np.ndarray, metadata: Mapping[str, Any], model: str) -> np.ndarray:
    """Return the LSBG probability of a binary model, or the LSBG column of a K-class one."""
    if prob.ndim == 1:
        return prob
    names = [str(c).lower() for c in metadata.get("class_names") or []]
    if "lsbg" not in names:
        raise InputError(
            f"{model}: a {prob.shape[1]}-class model without a class named LSBG cannot be scored"
        )
    return prob[:, names.index("lsbg")]


def realdev_probabilities(
    model: str | os.PathLike[str],
    data: RealDev,
    *,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> np.ndarray:
    """LSBG probabilities of every cutout of the set from a trained or released model.

    Parameters
    ----------
    model : path-like
        A run folder, a weight file, an ONNX export or a released model's name (``"des"``,
        ``"hsc"``), as :func:`deepshadows.predict.loading.load_classifier` accepts.
    data : RealDev
        The development set.
    device : str, optional
        Torch device of a PyTorch model.
    batch_size : int, optional
        Cutouts per forward pass.

    Returns
    -------
    ndarray of float64, shape (N,)
        Probability of being an LSBG (the LSBG column of a K-class model), computed in float32.

    Raises
    ------
    deepshadows.errors.InputError
        If the model cannot be loaded, or has several classes none of which is named LSBG.
    """
    from deepshadows.models.forward import logits_to_probabilities
    from deepshadows.predict.loading import load_classifier

    classify, metadata = load_classifier(model, device=device, precision="fp32")
    prob = logits_to_probabilities(classify(data.images, int(batch_size)))
    return _lsbg_column(prob, metadata, str(model))


def score_realdev(
    model: str | os.PathLike[str],
    realdev: str | os.PathLike[str] | RealDev | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
) -> dict[str, Any]:
    """Score a model on the development set, each selection, layer and outcome apart.

    Parameters
    ----------
    model : path-like
        A run folder, a weight file, an ONNX export or a released model's name.
    realdev : path-like or RealDev, optional
        The set or its ``.npz`` file; by default the file named by :data:`REALDEV_ENV`.
    n_boot : int, optional
        Bootstrap resamples for the 95 % intervals.
    seed : int, optional
        Seed of the resampling.
    device, batch_size
        As for :func:`realdev_probabilities`.

    Returns
    -------
    dict
        ``model``, ``realdev`` (the file), ``threshold`` (0.5), ``n_boot``, ``seed``, ``level``
        (0.95), ``n``, ``groups`` (see :func:`score_probabilities`) and ``probabilities``
        (ndarray of shape (N,)). :func:`to_json` turns it into JSON values.

    Raises
    ------
    deepshadows.errors.InputError
        If the set or the model cannot be read, or an option is invalid.
    """
    data = realdev if isinstance(realdev, RealDev) else load_realdev(realdev)
    prob = realdev_probabilities(model, data, device=device, batch_size=batch_size)
    return {
        "model": str(model),
        "realdev": str(data.path),
        "threshold": THRESHOLD,
        "n_boot": int(n_boot),
        "seed": int(seed),
        "level": 0.95,
        "n": len(data),
        "groups": score_probabilities(data, prob, n_boot=n_boot, seed=seed),
        "probabilities": prob,
    }


def to_json(result: Mapping[str, Any]) -> dict[str, Any]:
    """Return a result of :func:`score_realdev` as JSON values (``nan`` as ``None``).

    Parameters
    ----------
    result : mapping
        As returned by :func:`score_realdev` or :func:`score_probabilities`.

    Returns
    -------
    dict
        The same keys; intervals as ``value``/``low``/``high`` mappings, arrays as lists.
    """
    return _plain(result)
