"""Every public function and class has a complete numpydoc docstring.

"Public" means listed in a module's ``__all__`` and defined in that module (re-exports are
checked where they are defined). The checks are those of :func:`numpydoc.validate.validate`
that concern completeness: a docstring exists, every parameter is documented and no documented
parameter is missing from the signature, and what a function returns or yields is described.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import deepshadows

validate = pytest.importorskip("numpydoc.validate").validate

#: numpydoc error codes that a public docstring must not raise.
CODES = frozenset(
    {
        "GL08",  # no docstring
        "PR01",  # parameters not documented (for a class: its __init__ parameters)
        "PR02",  # documented parameters that do not exist
        "PR10",  # "name: type" without a space before the colon
        "RT01",  # no Returns section for a function that returns something
        "YD01",  # no Yields section for a generator
    }
)


def _public_objects() -> list[str]:
    """Return the dotted names of the public functions and classes of every module."""
    names = []
    for info in pkgutil.walk_packages(deepshadows.__path__, "deepshadows."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if obj is None or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ == module.__name__:
                names.append(f"{module.__name__}.{name}")
    return names


def test_public_docstrings_are_complete() -> None:
    names = _public_objects()
    assert names, "no public functions or classes found"
    offenders = [
        f"{name}: {code} {message}"
        for name in names
        for code, message in validate(name)["errors"]
        if code in CODES
    ]
    if offenders:
        pytest.fail(f"{len(offenders)} docstring problem(s):\n" + "\n".join(offenders), pytrace=False)
