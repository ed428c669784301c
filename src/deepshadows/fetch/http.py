"""An asynchronous HTTP client for cutout services: bounded, rate-limited, retrying and cached.

:class:`HttpClient` wraps an :mod:`aiohttp` session with

* at most ``concurrency`` requests (and connections) at once, and at most ``rate_limit``
  requests started per second (a steady schedule, no bursts);
* a connect time-out and a read time-out (no byte for ``timeout`` seconds, which catches a
  stalled body), and a cap on the whole attempt;
* retries with exponential backoff and full jitter (a delay drawn uniformly from
  ``[0, min(backoff_max, backoff * 2**attempt)]``) on time-outs, connection errors, incomplete
  bodies, responses that fail validation, HTTP 429 and 5xx; a ``Retry-After`` header (seconds
  or an HTTP date) sets the least delay, capped at ``retry_after_max``. Other 4xx statuses fail
  at once;
* an on-disk cache of validated raw responses (:class:`ResponseCache`), so that nothing is
  downloaded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from deepshadows import __version__
from deepshadows._io import atomic_path
from deepshadows.errors import InputError

__all__ = [
    "RETRY_KINDS",
    "ClientSettings",
    "FetchFailed",
    "FetchStats",
    "HttpClient",
    "InvalidResponse",
    "RateLimiter",
    "ResponseCache",
    "backoff_delay",
    "parse_retry_after",
]

#: Causes of a retry, as counted in :class:`FetchStats`.
RETRY_KINDS: tuple[str, ...] = ("timeout", "connection", "truncated", "invalid", "http_429", "http_5xx")

_T = TypeVar("_T")


@dataclass(frozen=True)
class ClientSettings:
    """How requests are made; none of it changes what is stored.

    Parameters
    ----------
    concurrency : int
        Requests (and connections) in flight at once.
    rate_limit : float or None
        Requests started per second at most; None for no limit.
    timeout : float
        Connect time-out and read time-out (longest wait for the next bytes), seconds.
    total_timeout : float or None
        Longest time for one whole attempt, seconds (default: four times ``timeout``).
    retries : int
        Retries after the first attempt of a request.
    backoff : float
        Base of the exponential backoff, seconds.
    backoff_max : float
        Cap of the backoff, seconds.
    retry_after_max : float
        Cap of a delay asked for by ``Retry-After``, seconds.
    """

    concurrency: int = 8
    rate_limit: float | None = None
    timeout: float = 30.0
    total_timeout: float | None = None
    retries: int = 5
    backoff: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 120.0

    def validate(self) -> ClientSettings:
        """Check every value, raising :class:`InputError` that names the option."""
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 256:
            raise InputError(f"--concurrency: must be an integer in [1, 256], got {self.concurrency!r}")
        if self.rate_limit is not None and not (_finite(self.rate_limit) and self.rate_limit > 0):
            raise InputError(
                f"--rate-limit: must be a positive number of requests per second, got {self.rate_limit}"
            )
        for name, value in (("--timeout", self.timeout), ("total_timeout", self.total_timeout)):
            if value is not None and not (_finite(value) and value > 0):
                raise InputError(f"{name}: must be a positive number of seconds, got {value}")
        if not isinstance(self.retries, int) or not 0 <= self.retries <= 100:
            raise InputError(f"--retries: must be an integer in [0, 100], got {self.retries!r}")
        for name, value in (
            ("backoff", self.backoff),
            ("backoff_max", self.backoff_max),
            ("retry_after_max", self.retry_after_max),
        ):
            if not (_finite(value) and value >= 0):
                raise InputError(f"{name}: must be a non-negative number of seconds, got {value}")
        return self

    @property
    def attempt_timeout(self) -> float:
        """Cap of one whole attempt, seconds."""
        return self.total_timeout if self.total_timeout is not None else 4.0 * self.timeout

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-serialisable mapping."""
        return asdict(self)


def _finite(value: Any) -> bool:
    """Whether ``value`` is a finite real number."""
    try:
        return math.isfinite(value)
    except TypeError:
        return False


class FetchFailed(Exception):
    """A request failed for good: a 4xx status, or still failing after every retry.

    Parameters
    ----------
    reason : str
        What went wrong: the status of a request that is not retried, or the last cause and
        the number of attempts.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidResponse(Exception):
    """A response body that is not what was asked for; raised by a validator, and retried.

    Parameters
    ----------
    reason : str
        What is wrong.
    kind : {"invalid", "truncated"}
        How it is counted.
    """

    def __init__(self, reason: str, kind: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class _Retryable(Exception):
    def __init__(self, kind: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.retry_after = retry_after


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


def parse_retry_after(value: str | None, *, now: _dt.datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay in seconds, or an HTTP date.

    Parameters
    ----------
    value : str or None
        The header value.
    now : datetime, optional
        Current time (UTC) for an HTTP date; default now.

    Returns
    -------
    float or None
        Seconds to wait (0 for a date in the past), or None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    now = now or _dt.datetime.now(_dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(
    attempt: int, settings: ClientSettings, retry_after: float | None, rng: random.Random
) -> float:
    """Delay before retry number ``attempt + 1``: full jitter, at least a capped ``Retry-After``.

    Parameters
    ----------
    attempt : int
        Number of the attempt that failed, from 0 for the first.
    settings : ClientSettings
        Gives the base and cap of the backoff and the cap of a ``Retry-After`` delay.
    retry_after : float or None
        Delay asked for by the server's ``Retry-After`` header, seconds; None without one.
    rng : random.Random
        Source of the jitter.

    Returns
    -------
    float
        Seconds to wait: drawn uniformly from ``[0, min(backoff_max, backoff * 2**attempt)]``,
        and at least ``min(retry_after, retry_after_max)``.
    """
    delay = rng.uniform(0.0, min(settings.backoff_max, settings.backoff * 2.0**attempt))
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_after_max))
    return delay


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


class RateLimiter:
    """Start at most ``rate`` operations per second, evenly spaced.

    Parameters
    ----------
    rate : float or None
        Operations per second; None for no limit.
    """

    def __init__(self, rate: float | None) -> None:
        self.interval = 0.0 if rate is None else 1.0 / float(rate)
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the next slot."""
        if self.interval <= 0.0:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class HttpClient:
    """Fetch URLs with bounded concurrency, a rate limit, time-outs, retries and a cache.

    Use as an asynchronous context manager inside a running event loop::

        async with HttpClient(ClientSettings(concurrency=8), cache=ResponseCache("cache")) as http:
            image = await http.get(url, parse_jpeg)

    Parameters
    ----------
    settings : ClientSettings
        Limits, time-outs and retries.
    cache : ResponseCache, optional
        Where validated responses are kept.
    stats : FetchStats, optional
        Counters to add to by default (each :meth:`get` may name its own).
    rng : random.Random, optional
        Source of the backoff jitter.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        cache: ResponseCache | None = None,
        stats: FetchStats | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings.validate()
        self.cache = cache
        self.stats = stats if stats is not None else FetchStats()
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter: RateLimiter | None = None

    async def __aenter__(self) -> HttpClient:
        s = self.settings
        self._semaphore = asyncio.Semaphore(s.concurrency)
        self._limiter = RateLimiter(s.rate_limit)
        connector = aiohttp.TCPConnector(limit=s.concurrency, limit_per_host=s.concurrency)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=s.timeout, sock_read=s.timeout),
            headers={"User-Agent": f"deepshadows/{__version__}"},
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, parse: Callable[[bytes], _T], *, stats: FetchStats | None = None) -> _T:
        """Return ``parse(body)`` of a successful response to ``url``, from the cache if there.

        Parameters
        ----------
        url : str
            The URL.
        parse : callable
            Validates and decodes a body; raises :class:`InvalidResponse` to have it retried.
        stats : FetchStats, optional
            Counters to add to (default: the client's).

        Returns
        -------
        object
            What ``parse`` returned.

        Raises
        ------
        FetchFailed
            On a 4xx status other than 429, or when the last retry failed too; the reason names
            the last cause.
        """
        stats = stats if stats is not None else self.stats
        if self.cache is not None:
            cached = self.cache.get(url)
            if cached is not None:
                try:
                    value = parse(cached)
                except InvalidResponse:
                    self.cache.discard(url)
                else:
                    stats.cache_hits += 1
                    return value
        attempt = 0
        while True:
            try:
                body = await self._request(url, stats)
                try:
                    value = parse(body)
                except InvalidResponse as exc:
                    raise _Retryable(exc.kind, exc.reason) from exc
            except _Retryable as exc:
                if attempt >= self.settings.retries:
                    stats.failed_requests += 1
                    tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                    raise FetchFailed(f"{exc.reason} (gave up after {tries})") from None
                stats.retries[exc.kind] = stats.retries.get(exc.kind, 0) + 1
                await asyncio.sleep(backoff_delay(attempt, self.settings, exc.retry_after, self._rng))
                attempt += 1
                continue
            except FetchFailed:
                stats.failed_requests += 1
                raise
            if self.cache is not None:
                self.cache.put(url, body)
            return value

    async def _request(self, url: str, stats: FetchStats) -> bytes:
        """Make one attempt; return the body of a 200 response or raise."""
        if self._session is None or self._semaphore is None or self._limiter is None:
            raise RuntimeError("HttpClient is used outside 'async with'")
        async with self._semaphore:
            await self._limiter.acquire()
            stats.requests += 1
            try:
                async with asyncio.timeout(self.settings.attempt_timeout):
                    async with self._session.get(url) as response:
                        status = response.status
                        if status == 200:
                            body = await response.read()
                            stats.bytes_received += len(body)
                            return body
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        reason = f"HTTP {status} {response.reason or ''}".strip()
            except TimeoutError:
                raise _Retryable("timeout", f"timed out (limit {self.settings.timeout:g} s)") from None
            except aiohttp.ClientPayloadError as exc:
                if "reset" in str(exc).lower():  # the peer reset the connection mid-body
                    raise _Retryable("connection", f"connection reset ({_first_line(exc)})") from None
                raise _Retryable("truncated", f"incomplete response body ({_first_line(exc)})") from None
            except (aiohttp.ClientConnectionError, aiohttp.ClientResponseError) as exc:
                raise _Retryable("connection", f"connection error ({_first_line(exc)})") from None
            except aiohttp.InvalidURL as exc:
                raise FetchFailed(f"invalid URL {url!r} ({exc})") from None
        if status == 429:
            raise _Retryable("http_429", reason, retry_after)
        if 500 <= status <= 599:
            raise _Retryable("http_5xx", reason, retry_after)
        raise FetchFailed(f"{reason} (not retried)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
