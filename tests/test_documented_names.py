"""Every ``deepshadows.*`` name the documentation gives resolves: modules, functions and classes."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "src/deepshadows/released/MODEL_CARD.md",
]
NAME = re.compile(r"\bdeepshadows(?:\.[A-Za-z_]\w*)+")


def _documented() -> list[str]:
    names = set()
    for page in PAGES:
        for match in NAME.finditer(page.read_text(encoding="utf-8")):
            names.add(match.group(0).rstrip("."))
    return sorted(names)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise ModuleNotFoundError(dotted)


def test_the_documentation_names_names() -> None:
    assert len(_documented()) > 20


@pytest.mark.parametrize("dotted", _documented())
def test_documented_name_resolves(dotted: str) -> None:
    _resolve(dotted)
