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

The settings live in :mod:`deepshadows.fetch.settings`, the errors and the backoff in
:mod:`deepshadows.fetch.retry`, the counters in :mod:`deepshadows.fetch.stats` and the cache in
:mod:`deepshadows.fetch.cache`; every name is importable from here too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TypeVar

import aiohttp

from deepshadows import __version__
from deepshadows.fetch.cache import ResponseCache
from deepshadows.fetch.retry import (
    RETRY_KINDS,
    FetchFailed,
    InvalidResponse,
    _Retryable,
    backoff_delay,
    parse_retry_after,
)
from deepshadows.fetch.settings import ClientSettings
from deepshadows.fetch.stats import FetchStats

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

_T = TypeVar("_T")


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
