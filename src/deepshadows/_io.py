"""Atomic file writing (outputs appear complete or not at all), the files beside an output, digests.

Also :class:`ClosingContext`, the ``with`` protocol of objects that hold an open file, and the
checks of counts given as parameters (:func:`check_int`, :func:`check_at_least_one`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import numbers
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from deepshadows.errors import InputError

__all__ = [
    "check_at_least_one",
    "check_format_version",
    "check_int",
    "ClosingContext",
    "atomic_path",
    "beside",
    "check_input_file",
    "check_writable",
    "file_sha256",
    "make_output_dir",
    "partial_path",
    "read_json",
    "save_png",
    "write_json_atomic",
]


class ClosingContext:
    """Base of the objects that hold an open file: ``with obj:`` gives ``obj`` and closes it.

    A subclass defines ``close()``; leaving the ``with`` block calls it, whether or not an
    exception was raised (and lets the exception through).
    """

    def close(self) -> None:  # pragma: no cover - every subclass defines it
        """Close the file the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def beside(path: str | os.PathLike[str], suffix: str) -> Path:
    """Return the file named ``path`` plus ``suffix``, in the same folder (``<path><suffix>``).

    Parameters
    ----------
    path : path-like
        An output file or folder.
    suffix : str
        Appended to its name, e.g. ``".partial"`` or ``".failures.csv"``.

    Returns
    -------
    pathlib.Path
        The file beside ``path``.
    """
    path = Path(path)
    return path.with_name(path.name + suffix)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 digest of a file's bytes, read in blocks of 1 MiB.

    Parameters
    ----------
    path : path-like
        The file to hash.

    Returns
    -------
    str
        The digest as 64 hexadecimal digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Return the temporary name under which ``path`` is written before it is complete.

    Parameters
    ----------
    path : path-like
        Final destination.

    Returns
    -------
    pathlib.Path
        ``path`` with ``.partial`` appended to its file name, in the same folder.
    """
    return beside(path, ".partial")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the same folder that is renamed to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched, so a reader
    never sees a half-written file.

    Parameters
    ----------
    path : path-like
        Final destination.

    Yields
    ------
    pathlib.Path
        Where to write.
    """
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def save_png(fig: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write a matplotlib figure as a PNG with a white background, atomically; return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save; it is not closed.
    path : path-like
        Output PNG file; its folder must exist.
    dpi : int, optional
        Resolution in dots per inch.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return out


def make_output_dir(path: str | os.PathLike[str], *, parameter: str | None = None) -> Path:
    """Create an output folder (and its parents) if needed and return it.

    ``parameter``, when given, names the argument in error messages (``"out_dir: ..."``).

    Parameters
    ----------
    path : path-like
        Output folder.
    parameter : str, optional
        Name of the argument or option that gave ``path``, for error messages.

    Returns
    -------
    pathlib.Path
        The folder, which now exists.

    Raises
    ------
    deepshadows.errors.InputError
        If ``path`` exists and is not a folder, or cannot be created.
    """
    from deepshadows.errors import InputError

    out = Path(path)
    name = f"{parameter}: {out}" if parameter else str(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{name}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{name}: cannot create the output folder ({exc.strerror})") from exc
    return out


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """Read a JSON file, turning every failure into one message that names it.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file holds, for the messages (``"calibration"``, ``"model description"``).

    Returns
    -------
    object
        The parsed value.

    Raises
    ------
    deepshadows.errors.InputError
        ``"<path>: <what> not found"`` if the file is missing, ``"<path>: cannot read the
        <what> (<reason>)"`` if it cannot be read or is not JSON.
    """
    from deepshadows.errors import InputError

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc})") from exc


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    Keys are sorted and values that JSON cannot represent are written as their ``str``.

    Parameters
    ----------
    path : path-like
        Output file; its folder must exist.
    obj : object
        JSON-serialisable value (typically a dict).
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def check_input_file(path: str | os.PathLike[str], what: str, expected: str) -> Path:
    """Return ``path`` if it is a non-empty file, else raise an error that names it.

    Parameters
    ----------
    path : path-like
        The input file.
    what : str
        What the file is, for the messages (``"catalogue"``, ``"label table"``).
    expected : str
        What a folder was expected to be instead (``"a CSV or FITS catalogue"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    deepshadows.errors.InputError
        If the file is missing, a folder or empty.
    """
    from deepshadows.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected {expected}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the {what} is empty")
    return path


def check_writable(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Check that an output file may be created at ``path``.

    Parameters
    ----------
    path : path-like
        Output file.
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The path, with its parent folder created.

    Raises
    ------
    deepshadows.errors.InputError
        If the file exists and ``overwrite`` is false, or the folder cannot be written.
    """
    from deepshadows.errors import InputError

    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(f"{path}: output exists; pass --overwrite to replace it")
    if path.is_dir():
        raise InputError(f"{path}: output is a folder, expected a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path.parent}: cannot create output folder ({exc.strerror})") from exc
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"{path.parent}: output folder is not writable")
    return path


def check_format_version(source: object, version: Any, supported: int, what: str) -> int:
    """Check the format version of a file this package wrote: a whole number it can read.

    Parameters
    ----------
    source : object
        The file (or what the data came from), named in the error message.
    version : object
        The ``format_version`` read from the file.
    supported : int
        The newest version this version of the package reads.
    what : str
        The kind of file, such as ``"model"`` or ``"checkpoint"``.

    Returns
    -------
    int
        The version.

    Raises
    ------
    deepshadows.errors.InputError
        If the version is not an integer or is newer than ``supported``.
    """
    if not isinstance(version, int) or version > supported:
        raise InputError(
            f"{source}: {what} format version {version!r} is not supported "
            f"(this version of deepshadows reads up to {supported})"
        )
    return version


def check_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """Check an integer parameter (a bool is not one) of at least 1, or 0 with ``allow_zero``.

    Parameters
    ----------
    value : object
        The value given, a Python or NumPy integer.
    name : str
        The parameter or option, such as ``"--jobs"``, named in the error message.
    allow_zero : bool, optional
        Accept 0 too (a non-negative integer rather than a positive one).

    Returns
    -------
    int
        The value.

    Raises
    ------
    deepshadows.errors.InputError
        ``"<name>: must be a positive integer, got <value>"`` (``"a non-negative integer"`` with
        ``allow_zero``) if it is not an integer or is too small.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < (0 if allow_zero else 1):
        what = "a non-negative integer" if allow_zero else "a positive integer"
        raise InputError(f"{name}: must be {what}, got {value!r}")
    return int(value)


def check_at_least_one(value: Any, name: str) -> None:
    """Check a count that, read as an integer, must be at least 1.

    Parameters
    ----------
    value : object
        The value given; anything ``int()`` accepts.
    name : str
        The parameter or option, such as ``"--epochs"``, named in the error message.

    Raises
    ------
    deepshadows.errors.InputError
        ``"<name>: must be at least 1, got <value>"`` if ``int(value)`` is below 1.
    """
    if int(value) < 1:
        raise InputError(f"{name}: must be at least 1, got {value}")
