"""Descriptions that many docstrings share, written once and filled in where they are used.

A docstring line that holds only ``%(name)s`` is replaced by ``DOCS[name]``, indented as the
placeholder was, when the function or class is decorated with :func:`fill_doc`; ``help()``,
numpydoc and the documentation see the filled text. This is the pattern of MNE-Python's
``mne.utils.docs.fill_doc`` and matplotlib's ``_docstring.interpd``: a parameter that means the
same in twenty functions is described the same in all twenty, and a change of wording is one
edit. Only whole lines are filled, so a ``%`` anywhere else in a docstring needs no escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["DOCS", "fill_doc"]

_T = TypeVar("_T", bound=Callable[..., Any])

#: The shared descriptions, by placeholder name; continuation lines are indented by four spaces.
DOCS: dict[str, str] = {
    # Labels and scores.
    "y_true": "y_true : array-like of shape (N,)\n    True labels, 1 = LSBG, 0 = artifact.",
    "y_true_both": (
        "y_true : array-like of shape (N,)\n    True labels, 1 = LSBG, 0 = artifact; both classes must occur."
    ),
    "prob": "prob : array-like of shape (N,) or (N, 1)\n    Predicted probability of being an LSBG.",
    # Figures.
    "out_png": "out_png : path-like\n    Output PNG file, written atomically.",
    "title": "title : str, optional\n    Figure title.",
    "written_png": "pathlib.Path\n    The written file.",
    # Models and forward passes.
    "batch_size": "batch_size : int, optional\n    Cutouts per forward pass.",
    "device": "device : str or torch.device, optional\n    Device of the model.",
    # Stores: one read, one a fetch writes, one an import writes.
    "store_path": "path : path-like\n    Store file.",
    "out_store": "out : path-like\n    The store.",
    # Importing cutouts.
    "import_out": "out : path-like\n    Store file to write.",
    "import_image_size": "image_size : int, optional\n    Side of the stored cutouts in pixels.",
    "import_overwrite": "overwrite : bool, optional\n    Whether an existing ``out`` may be replaced.",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(obj: _T) -> _T:
    """Fill the ``%(name)s`` lines of an object's docstring from :data:`DOCS`.

    Parameters
    ----------
    obj : callable
        A function or class whose docstring may hold placeholder lines.

    Returns
    -------
    callable
        ``obj``, with its docstring filled in place.

    Raises
    ------
    KeyError
        If a placeholder names no entry of :data:`DOCS`; the message names the object.
    """
    doc = obj.__doc__
    if not doc:  # no docstring, or docstrings stripped by python -OO
        return obj

    def fill(match: re.Match[str]) -> str:
        name, indent = match["name"], match["indent"]
        if name not in DOCS:
            raise KeyError(f"{obj.__qualname__}: docstring placeholder %({name})s is not in _docs.DOCS")
        return "\n".join(indent + line if line else line for line in DOCS[name].splitlines())

    obj.__doc__ = _PLACEHOLDER.sub(fill, doc)
    return obj
