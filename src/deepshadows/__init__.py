"""deepshadows: separate low-surface-brightness galaxies from artifacts in survey cutouts."""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("deepshadows")
except _metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
