from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from email.utils import format_datetime
from pathlib import Path

import numpy as np
import pytest

from deepshadows.errors import InputError
from deepshadows.fetch import (
    ClientSettings,
    CutoutConfig,
    FetchFailed,
    FetchStats,
    HttpClient,
    ResponseCache,
    fits_url,
    jpeg_url,
    parse_retry_after,
)
from deepshadows.fetch.cutouts import parse_fits, parse_jpeg
from deepshadows.fetch.http import InvalidResponse, RateLimiter, backoff_delay


def test_retry_after_seconds_dates_and_garbage() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(format_datetime(now + dt.timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - dt.timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_full_jitter_and_honours_a_capped_retry_after() -> None:
    settings = ClientSettings(backoff=0.5, backoff_max=3.0, retry_after_max=10.0)
    rng = random.Random(1)
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        delays = [backoff_delay(attempt, settings, None, rng) for _ in range(300)]
        assert 0.0 <= min(delays) < 0.1 * cap and 0.9 * cap < max(delays) <= cap
    assert all(4.0 <= backoff_delay(0, settings, 4.0, rng) <= 4.0 + 1e-9 for _ in range(20))
    assert backoff_delay(0, settings, 3600.0, rng) == 10.0


def test_rate_limiter_spaces_requests() -> None:
    async def run() -> list[float]:
        limiter = RateLimiter(50.0)
        times = []

        async def one() -> None:
            await limiter.acquire()
            times.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(11)))
        return times

    times = sorted(asyncio.run(run()))
    assert times[-1] - times[0] >= 10 / 50.0 * 0.95


def test_settings_are_validated_with_the_option_name() -> None:
    with pytest.raises(InputError, match="--concurrency"):
        ClientSettings(concurrency=0).validate()
    with pytest.raises(InputError, match="--rate-limit"):
        ClientSettings(rate_limit=-1.0).validate()
    with pytest.raises(InputError, match="--timeout"):
        ClientSettings(timeout=float("nan")).validate()
    with pytest.raises(InputError, match="--retries"):
        ClientSettings(retries=-1).validate()
    with pytest.raises(InputError, match="--layer"):
        CutoutConfig(layer="sdss").validate()
    with pytest.raises(InputError, match="--bands"):
        CutoutConfig(bands="gr").validate()
    with pytest.raises(InputError, match="--base-url"):
        CutoutConfig(base_url="ftp://example.org").validate()


def test_urls_follow_the_viewer() -> None:
    config = CutoutConfig(layer="hsc2", base_url="http://127.0.0.1:1/")
    assert jpeg_url(config, 10.5, -3.25) == (
        "http://127.0.0.1:1/viewer/jpeg-cutout?ra=10.500000&dec=-3.250000&zoom=15&layer=hsc2"
    )
    assert fits_url(config, 10.5, -3.25) == (
        "http://127.0.0.1:1/viewer/fits-cutout?ra=10.500000&dec=-3.250000&layer=hsc2"
        "&pixscale=0.168&size=168&bands=grz"
    )


def test_cache_is_keyed_by_url_and_atomic(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    assert cache.get("http://a/1") is None
    cache.put("http://a/1", b"one")
    cache.put("http://a/2", b"two")
    assert cache.get("http://a/1") == b"one" and cache.get("http://a/2") == b"two"
    assert cache.path("http://a/1") != cache.path("http://a/2")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.endswith(".tmp")]
    cache.discard("http://a/1")
    assert cache.get("http://a/1") is None


def test_validators_reject_truncated_and_wrong_images(make_server) -> None:
    server = make_server()
    jpeg = server.jpeg_bytes(1.0, 2.0)
    assert parse_jpeg(jpeg).shape == (256, 256, 3)
    with pytest.raises(InvalidResponse) as info:
        parse_jpeg(jpeg[: len(jpeg) // 2])
    assert info.value.kind == "truncated"
    with pytest.raises(InvalidResponse, match="not a JPEG"):
        parse_jpeg(b"<html>busy</html>")
    with pytest.raises(InvalidResponse, match="expected 128x128"):
        parse_jpeg(jpeg, size=128)
    cube = server.fits_bytes(1.0, 2.0, size=40)
    bands = parse_fits(cube, bands="grz", size=40)
    assert list(bands) == ["g", "r", "z"] and bands["g"].shape == (40, 40)
    with pytest.raises(InvalidResponse) as info:
        parse_fits(cube[:-1000], bands="grz", size=40)
    assert info.value.kind == "truncated"
    with pytest.raises(InvalidResponse, match="expected 64x64"):
        parse_fits(cube, bands="grz", size=64)
    with pytest.raises(InvalidResponse, match="missing band"):
        parse_fits(cube, bands="griz", size=40)


def _get(server, url_path: str, *, retries: int = 3, timeout: float = 0.5, cache=None):
    settings = ClientSettings(
        concurrency=2, timeout=timeout, retries=retries, backoff=0.001, backoff_max=0.01, retry_after_max=0.01
    )
    stats = FetchStats()

    async def run():
        async with HttpClient(settings, cache=cache, stats=stats) as http:
            return await http.get(server.url + url_path, parse_jpeg)

    try:
        return asyncio.run(run()), stats
    except FetchFailed as exc:
        return exc, stats


def test_client_fails_at_once_on_404_and_gives_up_on_persistent_500(make_server) -> None:
    server = make_server(broken={(1.0, 2.0): 404, (3.0, 4.0): 500})
    failed, stats = _get(server, "/viewer/jpeg-cutout?ra=1&dec=2&layer=des-dr1")
    assert isinstance(failed, FetchFailed) and failed.reason.startswith("HTTP 404")
    assert stats.requests == 1 and stats.total_retries == 0 and stats.failed_requests == 1
    failed, stats = _get(server, "/viewer/jpeg-cutout?ra=3&dec=4&layer=des-dr1", retries=3)
    assert isinstance(failed, FetchFailed)
    assert failed.reason == "HTTP 500 Internal Server Error (gave up after 4 attempts)"
    assert stats.requests == 4 and stats.retries["http_5xx"] == 3


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("500", "http_5xx"),
        ("503", "http_5xx"),
        ("429", "http_429"),
        ("reset", "connection"),
        ("truncate", "truncated"),
        ("short", "truncated"),
        ("stall", "timeout"),
        ("stall_headers", "timeout"),
    ],
)
def test_each_fault_is_retried_and_counted(make_server, fault: str, kind: str) -> None:
    server = make_server(rate=1.0, kinds=(fault,), max_faults_per_url=2)
    image, stats = _get(server, "/viewer/jpeg-cutout?ra=5&dec=6&layer=des-dr1", timeout=0.6)
    np.testing.assert_array_equal(image, parse_jpeg(server.jpeg_bytes(5, 6)))
    assert stats.retries[kind] == 2 and stats.total_retries == 2 and stats.requests == 3


def test_a_cached_response_makes_no_request(make_server, tmp_path: Path) -> None:
    server = make_server()
    cache = ResponseCache(tmp_path / "cache")
    path = "/viewer/jpeg-cutout?ra=5&dec=6&layer=des-dr1"
    first, stats = _get(server, path, cache=cache)
    assert stats.requests == 1 and server.counts["requests"] == 1
    again, stats = _get(server, path, cache=cache)
    assert stats.requests == 0 and stats.cache_hits == 1 and server.counts["requests"] == 1
    np.testing.assert_array_equal(first, again)
    # A damaged cache entry is dropped and fetched again.
    cache.path(server.url + path).write_bytes(b"\xff\xd8 garbage")
    _, stats = _get(server, path, cache=cache)
    assert stats.requests == 1 and stats.cache_hits == 0


@pytest.mark.parametrize("fault", ["429", "503"])
def test_retry_after_is_honoured_up_to_its_cap(make_server, fault: str) -> None:
    server = make_server(rate=1.0, kinds=(fault,), max_faults_per_url=1, retry_after_seconds=5)
    settings = ClientSettings(timeout=1.0, retries=2, backoff=0.001, backoff_max=0.001, retry_after_max=0.4)

    async def run():
        async with HttpClient(settings) as http:
            return await http.get(server.url + "/viewer/jpeg-cutout?ra=7&dec=8&layer=des-dr1", parse_jpeg)

    started = time.monotonic()
    asyncio.run(run())
    # The header asks for 5 s (seconds for 429, an HTTP date for 503); the cap makes it 0.4 s.
    assert 0.3 <= time.monotonic() - started < 2.0
