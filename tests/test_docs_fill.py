"""The shared docstring descriptions fill whole placeholder lines, and nothing else."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import deepshadows
from deepshadows._docs import DOCS, fill_doc


def test_placeholder_is_replaced_with_the_entry_indented_as_the_line() -> None:
    @fill_doc
    def score(y_true: object) -> None:
        """Score.

        Parameters
        ----------
        %(y_true)s
        """

    assert "    y_true : array-like of shape (N,)\n            True labels" in score.__doc__
    assert "%(" not in score.__doc__


def test_percent_signs_elsewhere_are_left_alone() -> None:
    @fill_doc
    def interval() -> None:
        """A 95 % interval; 100%(not a placeholder)s stays."""

    assert interval.__doc__ == "A 95 % interval; 100%(not a placeholder)s stays."


def test_unknown_placeholder_names_the_object() -> None:
    def broken() -> None:
        """Broken.

        %(no_such_entry)s
        """

    with pytest.raises(KeyError, match=r"broken.*no_such_entry"):
        fill_doc(broken)


def test_missing_docstring_is_allowed() -> None:
    def bare() -> None:
        pass

    assert fill_doc(bare) is bare


def test_no_public_docstring_keeps_a_placeholder() -> None:
    """A placeholder left in a docstring means a ``@fill_doc`` was forgotten."""
    left = []
    pattern = re.compile(r"^\s*%\(\w+\)s\s*$", re.MULTILINE)
    for info in pkgutil.walk_packages(deepshadows.__path__, "deepshadows."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            docs = [getattr(obj, "__doc__", None)]
            docs += [getattr(m, "__doc__", None) for m in vars(obj).values()] if isinstance(obj, type) else []
            if any(doc and pattern.search(doc) for doc in docs):
                left.append(f"{module.__name__}.{name}")
    assert not left, f"unfilled docstring placeholders in: {left}"


def test_every_entry_is_shared() -> None:
    """An entry used once belongs in its docstring; one used nowhere is dead."""
    src = Path(deepshadows.__file__).parent
    text = "\n".join(path.read_text(encoding="utf-8") for path in src.rglob("*.py"))
    uses = {name: len(re.findall(rf"^\s*%\({name}\)s\s*$", text, re.MULTILINE)) for name in DOCS}
    assert all(n >= 2 for n in uses.values()), {name: n for name, n in uses.items() if n < 2}


def test_every_entry_is_a_numpydoc_item() -> None:
    for name, text in DOCS.items():
        first, *rest = text.splitlines()
        assert first and not first.startswith(" "), name
        assert rest and all(line.startswith("    ") for line in rest), name
