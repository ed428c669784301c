"""Models released with the package, ready to classify without training.

``des``
    ``des-sim`` fine-tuned on every labelled cutout of the project's real development set (164
    Legacy Survey DR9 and DES DR1 cutouts of DES Y3 candidates, expert labels) with the compact
    ResNet's fine-tuning recipe (:mod:`deepshadows.finetuning.recipe`): the default model.
``ls-dr10``
    The same network as ``des``, under the name of the Legacy Survey's own layers (DR9 and DR10
    cutouts): cross-validation on the real development set found ``des-sim`` the better start
    on Legacy Survey imaging too (docs/finetuning.md).
``des-sim``
    The compact residual network (``compact-resnet``, docs/models.md) trained on 40,000
    simulated DES and 40,000 simulated Legacy Survey DR10 objects (one merged store) rendered
    under randomised imaging and viewer conditions (depth from Legacy Survey DR10 to below DES
    DR1, seeing, colour scales, field of view, resize filter, JPEG), with on-the-fly
    augmentation; the weights of its epoch of lowest validation loss. It has seen no real
    cutout: the starting point for a survey with no labels yet.
``ls-dr10-sim``
    The same network and protocol on the 40,000 simulated Legacy Survey DR10 objects alone (half
    the DES noise, LANCZOS resize).
``hsc``
    ``des-sim`` fine-tuned (whole network) on 320 simulated HSC cutouts.

All are stored in float16 (half the size; the test metrics are unchanged) and load as
float32. Their model card, ``MODEL_CARD.md`` in this folder, gives the data, the protocol, the
measured metrics with their intervals and the known limits: all but ``des`` and ``ls-dr10``
were trained on simulations only.

Any command that takes a model accepts these names in place of a path, e.g.
``deepshadows predict cutouts/ --model hsc`` or ``load_model("des")``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = [
    "DEFAULT_MODEL",
    "RELEASED_MODELS",
    "SURVEY_MODELS",
    "model_card",
    "model_for_survey",
    "released_model_path",
    "resolve_model_path",
]

#: Names of the released models.
RELEASED_MODELS: tuple[str, ...] = ("des", "hsc", "ls-dr10", "des-sim", "ls-dr10-sim")
#: The model used when none is given.
DEFAULT_MODEL = "des"
#: The released model made for each survey's imaging (``deepshadows.surveys.SURVEYS`` names):
#: Legacy Survey DR9 cutouts are classified by the model trained on simulated DR10 imaging.
SURVEY_MODELS: dict[str, str] = {"des": "des", "hsc": "hsc", "ls-dr9": "ls-dr10", "ls-dr10": "ls-dr10"}


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def released_model_path(name: str) -> Path:
    """Return the weight file of a released model.

    Parameters
    ----------
    name : {"des", "hsc", "ls-dr10", "des-sim", "ls-dr10-sim"}
        The model (case-insensitive).

    Returns
    -------
    pathlib.Path
        Its ``<name>.safetensors`` in the installed package; the JSON sidecar lies beside it.

    Raises
    ------
    deepshadows.errors.InputError
        If the name is unknown or the installation lacks the file.
    """
    from deepshadows.errors import InputError

    key = str(name).lower()
    if key not in RELEASED_MODELS:
        raise InputError(f"--model: unknown released model {name!r}; released: {', '.join(RELEASED_MODELS)}")
    path = _folder() / f"{key}.safetensors"
    if not path.is_file():
        raise InputError(
            f"{path}: released model {key!r} is missing from this installation; reinstall deepshadows"
        )
    return path


def resolve_model_path(model: str | os.PathLike[str]) -> Path:
    """Return ``model`` as a path: an existing path as it is, a released model's name as its file.

    A path that exists wins over a released name, so a local folder called ``des`` is used.

    Parameters
    ----------
    model : path-like
        Weight file, run folder, ONNX file, or the name of a released model (``"des"``,
        ``"hsc"``, ``"ls-dr10"``).

    Returns
    -------
    pathlib.Path
        The path as given (it need not exist), or the released model's weight file.

    Raises
    ------
    deepshadows.errors.InputError
        If a released model's file is missing from the installation.
    """
    path = Path(model)
    if path.exists() or str(model).lower() not in RELEASED_MODELS:
        return path
    return released_model_path(str(model))


def model_card() -> str:
    """Return the text of the released models' card (Markdown).

    Returns
    -------
    str
        Contents of ``MODEL_CARD.md``: data, protocol, measured metrics and known limits.
    """
    return (_folder() / "MODEL_CARD.md").read_text(encoding="utf-8")


def model_for_survey(survey: object) -> str:
    """Return the released model made for a survey's imaging, :data:`DEFAULT_MODEL` otherwise.

    Parameters
    ----------
    survey : object
        A survey name (``"des"``, ``"hsc"``, ``"ls-dr9"``, ``"ls-dr10"``), a survey description
        with a ``"name"`` key (as stores record it), or None.

    Returns
    -------
    str
        The name of a released model.
    """
    name = survey.get("name") if isinstance(survey, dict) else survey
    return SURVEY_MODELS.get(str(name).lower(), DEFAULT_MODEL) if name else DEFAULT_MODEL
