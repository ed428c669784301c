"""Versions and configuration recorded beside every output, for reproducibility."""

from __future__ import annotations

import datetime as _dt
import platform
from importlib import metadata

__all__ = ["package_versions", "provenance"]

_PACKAGES = (
    "deepshadows",
    "numpy",
    "scipy",
    "galsim",
    "sep",
    "h5py",
    "astropy",
    "pillow",
    "torch",
    "scikit-learn",
    "matplotlib",
)


def package_versions() -> dict[str, str]:
    """Return the installed versions of the packages that shape the outputs.

    Returns
    -------
    dict of str to str
        Package name to version string (``"not installed"`` when missing), plus ``python``.
    """
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance() -> dict[str, object]:
    """Return versions, platform and a UTC timestamp as one JSON-serialisable mapping.

    Returns
    -------
    dict
        ``created_utc`` (ISO 8601 timestamp to the second), ``platform`` (the
        :func:`platform.platform` string) and ``versions`` (from :func:`package_versions`).
    """
    return {
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "versions": package_versions(),
    }
