"""Settings of the HTTP client: concurrency, rate limit, time-outs, retries and backoff.

:class:`ClientSettings` says how requests are made (none of it changes what is stored) and checks
its own values, naming the command-line option of a bad one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from deepshadows.errors import InputError

__all__ = ["ClientSettings"]


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
