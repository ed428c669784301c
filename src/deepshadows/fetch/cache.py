"""An on-disk cache of validated raw HTTP responses, one file per URL.

:class:`ResponseCache` keeps what :class:`~deepshadows.fetch.http.HttpClient` downloaded and
validated, so that nothing is downloaded twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from deepshadows._io import atomic_path
from deepshadows.errors import InputError

__all__ = ["ResponseCache"]


class ResponseCache:
    """Raw responses on disk, one file per URL named by the SHA-256 of the URL.

    Files are written atomically, so a killed run leaves whole files or none. Only responses
    that passed validation are stored.

    Parameters
    ----------
    folder : path-like
        Cache folder; created when needed.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise InputError(f"--cache: {self.folder} exists and is not a folder")

    def path(self, url: str) -> Path:
        """Return the file that holds the response to ``url``."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.folder / key[:2] / key

    def get(self, url: str) -> bytes | None:
        """Return the cached response to ``url``, or None."""
        try:
            return self.path(url).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def put(self, url: str, data: bytes) -> None:
        """Store the response to ``url`` atomically (a failure to write is not an error)."""
        target = self.path(url)
        with contextlib.suppress(OSError):
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)

    def discard(self, url: str) -> None:
        """Remove the cached response to ``url``, if any."""
        with contextlib.suppress(OSError):
            self.path(url).unlink()
