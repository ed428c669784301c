"""Counters of the HTTP client: requests, bytes received, cache hits, retries by cause, failures.

:class:`FetchStats` is added to by :class:`~deepshadows.fetch.http.HttpClient`, summed over
partitions and written to the fetch report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from deepshadows.fetch.retry import RETRY_KINDS

__all__ = ["FetchStats"]


@dataclass
class FetchStats:
    """Counters of one run (or one partition of it).

    Parameters
    ----------
    requests : int
        HTTP requests sent, retries included.
    bytes_received : int
        Bytes of the response bodies received.
    cache_hits : int
        Responses taken from the cache instead of the network.
    retries : dict of str to int
        Retries by cause (see :data:`RETRY_KINDS`).
    failed_requests : int
        Requests that failed for good.
    """

    requests: int = 0
    bytes_received: int = 0
    cache_hits: int = 0
    retries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RETRY_KINDS, 0))
    failed_requests: int = 0

    @property
    def total_retries(self) -> int:
        """Retries of every cause."""
        return sum(self.retries.values())

    def add(self, other: FetchStats) -> FetchStats:
        """Add the counters of ``other`` to these; return self."""
        self.requests += other.requests
        self.bytes_received += other.bytes_received
        self.cache_hits += other.cache_hits
        self.failed_requests += other.failed_requests
        for kind, n in other.retries.items():
            self.retries[kind] = self.retries.get(kind, 0) + n
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the counters as a JSON-serialisable mapping."""
        return {**asdict(self), "total_retries": self.total_retries}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FetchStats:
        """Rebuild counters written by :meth:`to_dict`."""
        retries = dict.fromkeys(RETRY_KINDS, 0) | {k: int(v) for k, v in data.get("retries", {}).items()}
        return cls(
            requests=int(data.get("requests", 0)),
            bytes_received=int(data.get("bytes_received", 0)),
            cache_hits=int(data.get("cache_hits", 0)),
            retries=retries,
            failed_requests=int(data.get("failed_requests", 0)),
        )
