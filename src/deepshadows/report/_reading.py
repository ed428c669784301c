"""Reading the files of a run folder without failing, and formatting what was read.

A :class:`FolderReader` returns ``None`` for a file that is missing or unreadable and records a
warning instead of raising, so that one corrupt file costs its section a warning, not the whole
report. It also remembers which files a builder used, so that the figures nobody claimed can be
shown at the end of the section.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from deepshadows.report.content import Figure, Table

__all__ = [
    "IMAGE_SUFFIXES",
    "FolderReader",
    "bounds_cell",
    "flatten",
    "fmt",
    "embed_image",
    "image_file_figure",
    "interval_cell",
    "mapping_table",
    "records_table",
    "to_float",
]

#: Image files embedded in the page, by suffix.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}


def embed_image(title: str, data: bytes, caption: str = "") -> Figure:
    """Return PNG or JPEG bytes as a :class:`Figure` holding a ``data:`` URI, once they decode.

    Parameters
    ----------
    title : str
        Short name shown under the image (usually the file name).
    data : bytes
        Contents of a PNG or JPEG file.
    caption : str, optional
        One line of explanation.

    Returns
    -------
    Figure
        The image as a base64 ``data:`` URI, with its width in pixels.

    Raises
    ------
    ValueError
        If the bytes are not a complete PNG or JPEG image.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            kind, width = im.format, im.width
            im.verify()
    except (UnidentifiedImageError, SyntaxError, OSError) as exc:
        raise ValueError(f"not a readable image ({exc})") from None
    if kind not in _MIME:
        raise ValueError(f"unsupported image format {kind}")
    src = f"data:{_MIME[kind]};base64,{base64.b64encode(data).decode('ascii')}"
    return Figure(title=title, src=src, caption=caption, width=width)


def image_file_figure(path: Path, caption: str = "") -> Figure:
    """Return an image file as a :class:`Figure` titled by its name.

    Parameters
    ----------
    path : pathlib.Path
        PNG or JPEG file.
    caption : str, optional
        One line of explanation.

    Returns
    -------
    Figure
        The image embedded as a ``data:`` URI (see :func:`embed_image`).

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If it is not a complete PNG or JPEG image.
    """
    return embed_image(path.name, path.read_bytes(), caption)


class FolderReader:
    """Read the files of one folder, turning every problem into a warning.

    Parameters
    ----------
    folder : pathlib.Path
        The folder.
    warnings : list of str
        Receives one line per problem (missing, unreadable or corrupt file).
    """

    def __init__(self, folder: Path, warnings: list[str]) -> None:
        self.folder = folder
        self.warnings = warnings
        self.used: set[str] = set()

    def has(self, name: str) -> bool:
        """Whether ``name`` exists in the folder (as a file)."""
        return (self.folder / name).is_file()

    def _text(self, name: str, required: bool) -> str | None:
        self.used.add(name)
        path = self.folder / name
        if not path.is_file():
            if required:
                self.warnings.append(f"{name}: missing")
            return None
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.warnings.append(f"{name}: not UTF-8 text")
        except OSError as exc:
            self.warnings.append(f"{name}: cannot be read ({exc.strerror or exc})")
        return None

    def json(self, name: str, *, required: bool = True) -> dict[str, Any] | None:
        """Return a JSON object file, or None (with a warning unless absent and not required)."""
        text = self._text(name, required)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.warnings.append(f"{name}: not valid JSON ({exc})")
            return None
        if not isinstance(data, dict):
            self.warnings.append(f"{name}: expected a JSON object, found {type(data).__name__}")
            return None
        return data

    def csv(self, name: str, *, required: bool = True) -> list[dict[str, str]] | None:
        """Return the rows of a CSV file with a header line, or None (with a warning)."""
        text = self._text(name, required)
        if text is None:
            return None
        try:
            reader = csv.DictReader(io.StringIO(text))
            rows = list(reader)
        except csv.Error as exc:
            self.warnings.append(f"{name}: not valid CSV ({exc})")
            return None
        if not reader.fieldnames:
            self.warnings.append(f"{name}: empty")
            return None
        if any(None in row or None in row.values() for row in rows):
            self.warnings.append(f"{name}: rows with a different number of columns than the header")
            return None
        return rows

    def figure(self, name: str, caption: str = "") -> Figure | None:
        """Return an image of the folder as a :class:`Figure`; None if absent or broken (warned)."""
        self.used.add(name)
        path = self.folder / name
        if not path.is_file():
            return None
        try:
            return image_file_figure(path, caption)
        except (OSError, ValueError) as exc:
            self.warnings.append(f"{name}: {exc}")
            return None

    def drawn(self, name: str, draw: Callable[[], bytes], caption: str = "") -> Figure | None:
        """Return the PNG that ``draw()`` makes from the file ``name``; None (warned) if it fails."""
        try:
            return embed_image(name, draw(), caption)
        except (KeyError, TypeError, ValueError) as exc:
            self.warnings.append(f"{name}: cannot be drawn ({exc})")
            return None

    def figures(self, names: Iterable[tuple[str, str]]) -> list[Figure]:
        """Return the figures among ``(name, caption)`` pairs that exist and decode."""
        return [fig for name, caption in names if (fig := self.figure(name, caption)) is not None]

    def other_figures(self) -> list[Figure]:
        """Return the images of the folder that no call has asked for yet, by name."""
        names = sorted(
            p.name
            for p in self.folder.iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
        )
        return self.figures((name, "") for name in names if name not in self.used)


# --------------------------------------------------------------------------- formatting


def to_float(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None for empty, invalid or non-finite values.

    Parameters
    ----------
    value : object
        A number, or text as read from a CSV or JSON file; booleans count as invalid.

    Returns
    -------
    float or None
        The finite value, or None.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fmt(value: Any) -> str:
    """Format one value for the page: numbers compactly, containers as compact JSON.

    Parameters
    ----------
    value : object
        Any value read from a JSON or CSV file.

    Returns
    -------
    str
        ``–`` for None, ``yes``/``no`` for booleans, integers as they are, floats with six
        significant digits, text as it is, a sequence of scalars comma-separated and anything
        else as JSON with sorted keys.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(fmt(v) for v in value)
    return json.dumps(value, sort_keys=True, default=str)


def interval_cell(value: Any, low: Any = None, high: Any = None, digits: int = 3) -> str:
    """Format ``value [low, high]`` (or just the value without bounds; ``–`` when missing).

    Parameters
    ----------
    value : object
        The estimate: a number or numeric text. Text that is not a number is shown as it is.
    low, high : object, optional
        Bounds of the interval; the bounds are left out unless both are finite numbers.
    digits : int, optional
        Decimals of every number.

    Returns
    -------
    str
        E.g. ``"0.920 [0.912, 0.927]"``.
    """
    v, lo, hi = to_float(value), to_float(low), to_float(high)
    if v is None:
        return "–" if value in (None, "") else str(value)
    if lo is None or hi is None:
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return nested mappings as one level with dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    Parameters
    ----------
    mapping : mapping of str to object
        Possibly nested mapping (e.g. a recorded configuration); empty nested mappings are kept
        as values.
    prefix : str, optional
        Text put before every key (used by the recursion, e.g. ``"a."``).

    Returns
    -------
    dict of str to object
        One entry per leaf value, keyed by its dotted path.
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out |= flatten(value, f"{name}.")
        else:
            out[name] = value
    return out


def bounds_cell(low: Any, high: Any, digits: int = 3) -> str:
    """Format an interval ``[low, high]``; ``–`` when a bound is missing.

    Parameters
    ----------
    low, high : object
        Bounds: numbers or numeric text; a missing, invalid or non-finite bound counts as missing.
    digits : int, optional
        Decimals of each bound.

    Returns
    -------
    str
        E.g. ``"[0.912, 0.927]"``, or ``–``.
    """
    lo, hi = to_float(low), to_float(high)
    return "–" if lo is None or hi is None else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def mapping_table(mapping: Mapping[str, Any], caption: str = "", *, key: str = "setting") -> Table:
    """Return a two-column table of a mapping's items, in key order.

    Parameters
    ----------
    mapping : mapping of str to object
        Items to list; values are formatted with :func:`fmt`.
    caption : str, optional
        Text shown above the table.
    key : str, optional
        Title of the first column (the second is ``value``).

    Returns
    -------
    Table
        One row per item, sorted by key.
    """
    rows = [[str(k), fmt(v)] for k, v in sorted(mapping.items(), key=lambda kv: str(kv[0]))]
    return Table(columns=[key, "value"], rows=rows, caption=caption)


def _csv_cell(text: str) -> str:
    try:
        return str(int(text))
    except ValueError:
        pass
    x = to_float(text)
    return text if x is None else f"{x:.4g}"


def records_table(rows: Sequence[Mapping[str, str]], caption: str = "") -> Table:
    """Return a table of CSV records; ``m``, ``m_low`` and ``m_high`` columns make one cell.

    The merged cells read ``value [low, high]`` with three decimals, as the paper's tables.

    Parameters
    ----------
    rows : sequence of mapping of str to str
        Rows of a CSV file (as read by :meth:`FolderReader.csv`); the first row's keys give the
        columns.
    caption : str, optional
        Text shown above the table.

    Returns
    -------
    Table
        The table; merged columns are titled ``<m> [interval]``, other numbers are shown as
        integers or with four significant digits. No columns when ``rows`` is empty.
    """
    columns = list(rows[0]) if rows else []
    bounded = [c for c in columns if f"{c}_low" in columns and f"{c}_high" in columns]
    skip = {f"{c}_{end}" for c in bounded for end in ("low", "high")}
    shown = [c for c in columns if c not in skip]
    body = [
        [
            interval_cell(row[c], row[f"{c}_low"], row[f"{c}_high"]) if c in bounded else _csv_cell(row[c])
            for c in shown
        ]
        for row in rows
    ]
    titles = [f"{c} [interval]" if c in bounded else c for c in shown]
    return Table(columns=titles, rows=body, caption=caption)
