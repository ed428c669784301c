"""The retry policy of the HTTP client: its errors, ``Retry-After`` and the backoff delay.

A request that fails for good raises :class:`FetchFailed`; a body that fails validation raises
:class:`InvalidResponse` and is retried. Retries wait an exponential backoff with full jitter
(:func:`backoff_delay`), at least as long as a capped ``Retry-After`` header asks
(:func:`parse_retry_after`). :data:`RETRY_KINDS` names the causes of a retry.
"""

from __future__ import annotations

import datetime as _dt
import random
from email.utils import parsedate_to_datetime

from deepshadows.fetch.settings import ClientSettings

__all__ = ["RETRY_KINDS", "FetchFailed", "InvalidResponse", "backoff_delay", "parse_retry_after"]

#: Causes of a retry, as counted in :class:`~deepshadows.fetch.stats.FetchStats`.
RETRY_KINDS: tuple[str, ...] = ("timeout", "connection", "truncated", "invalid", "http_429", "http_5xx")


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
