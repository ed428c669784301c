"""Fetch real cutouts of a catalogue of candidates from the Legacy Survey viewer into a store.

:func:`fetch_catalog` reads a catalogue (:func:`read_catalog`), downloads the viewer's JPEG (and
optionally FITS) cutouts through a bounded, rate-limited, retrying and cached asynchronous client
(:class:`HttpClient`), and writes a store that ``predict``, ``evaluate`` and ``transfer`` read
like a simulated one. ``deepshadows fetch`` is its command line.
"""

from __future__ import annotations

from deepshadows.fetch.catalog import BadRow, Catalog, CatalogRow, read_catalog
from deepshadows.fetch.cutouts import DEFAULT_BASE_URL, FITS_BANDS, LAYERS, CutoutConfig, fits_url, jpeg_url
from deepshadows.fetch.http import (
    RETRY_KINDS,
    ClientSettings,
    FetchFailed,
    FetchStats,
    HttpClient,
    InvalidResponse,
    ResponseCache,
    parse_retry_after,
)
from deepshadows.fetch.output import failed_catalog_path, failures_path, report_path, staging_path
from deepshadows.fetch.run import FetchResult, fetch_catalog

__all__ = [
    "DEFAULT_BASE_URL",
    "FITS_BANDS",
    "LAYERS",
    "RETRY_KINDS",
    "BadRow",
    "Catalog",
    "CatalogRow",
    "ClientSettings",
    "CutoutConfig",
    "FetchFailed",
    "FetchResult",
    "FetchStats",
    "HttpClient",
    "InvalidResponse",
    "ResponseCache",
    "failed_catalog_path",
    "failures_path",
    "fetch_catalog",
    "fits_url",
    "jpeg_url",
    "parse_retry_after",
    "read_catalog",
    "report_path",
    "staging_path",
]
