"""A stand-in for the Legacy Survey viewer on the loopback interface, with injected faults.

``/viewer/jpeg-cutout`` answers 256 x 256 JPEGs and ``/viewer/fits-cutout`` FITS cubes of shape
(bands, size, size), both generated deterministically from the coordinates, so that a client's
output can be compared with :meth:`FaultServer.jpeg_bytes` and :meth:`FaultServer.fits_bytes`.

A fraction ``rate`` of the requests fail, each with a fault drawn from ``kinds``:

``500``, ``503``, ``429``
    that status, with a ``Retry-After`` header (seconds for 500 and 429, an HTTP date for 503);
``reset``
    the headers and a few bytes of the body, then the connection is reset (TCP RST);
``truncate``
    the headers announce the whole body, half of it is sent and the connection closed;
``short``
    a complete HTTP response whose body is the first half of the image;
``stall``
    the headers and a few bytes of the body, then nothing for ``stall_seconds``;
``stall_headers``
    nothing at all for ``stall_seconds``.

``max_faults_per_url`` bounds the faults of one URL (after that it is always served), which
makes tests with retries deterministic in outcome. Coordinates listed in ``broken`` always get
their status (500 or 404, say). The server only listens on 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import functools
import io
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from astropy.io import fits
from PIL import Image

FAULT_KINDS: tuple[str, ...] = ("500", "503", "429", "reset", "truncate", "short", "stall", "stall_headers")


@dataclass
class FaultPlan:
    """Which requests fail, and how."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    max_faults_per_url: int | None = None
    stall_seconds: float = 5.0
    delay: float = 0.0
    retry_after_seconds: int = 1
    broken: dict[tuple[float, float], int] = field(default_factory=dict)


def _key(ra: float, dec: float) -> tuple[float, float]:
    return round(float(ra), 5), round(float(dec), 5)


def _seed(ra: float, dec: float, salt: str) -> int:
    a, b = _key(ra, dec)
    return (int(round(a * 1e5)) * 1_000_003 + int(round((b + 90) * 1e5)) * 7 + sum(map(ord, salt))) % 2**63


@functools.lru_cache(maxsize=4096)
def make_jpeg(ra: float, dec: float, layer: str) -> bytes:
    """Return the 256 x 256 JPEG served for (ra, dec): grey sky, noise and a blob."""
    rng = np.random.default_rng(_seed(ra, dec, layer))
    y, x = np.mgrid[:256, :256]
    cx, cy = 128 + rng.uniform(-4, 4), 128 + rng.uniform(-4, 4)
    blob = np.exp(-0.5 * ((x - cx) ** 2 + (y - cy) ** 2) / rng.uniform(6, 20) ** 2)
    colour = rng.uniform(20, 160, size=3)
    image = 32 + rng.normal(0, 8, (256, 256, 3)) + blob[..., None] * colour
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), mode="RGB").save(
        buffer, format="JPEG", quality=90
    )
    return buffer.getvalue()


@functools.lru_cache(maxsize=4096)
def make_fits(ra: float, dec: float, layer: str, size: int, bands: str) -> bytes:
    """Return the FITS cube (bands, size, size) served for (ra, dec): noise and an exponential disk."""
    rng = np.random.default_rng(_seed(ra, dec, layer + bands))
    y, x = np.mgrid[:size, :size]
    c = (size - 1) / 2
    disk = np.exp(-np.hypot(x - c, y - c) / rng.uniform(5, 12))
    amplitude = rng.uniform(0.02, 0.08)
    cube = np.stack(
        [amplitude * (1 + 0.2 * k) * disk + rng.normal(0, 0.004, (size, size)) for k in range(len(bands))]
    ).astype(np.float32)
    header = fits.Header()
    header["BANDS"] = bands
    for k, band in enumerate(bands):
        header[f"BAND{k}"] = band
    buffer = io.BytesIO()
    fits.PrimaryHDU(cube, header=header).writeto(buffer)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self, *, reset: bool) -> None:
        self.close_connection = True
        try:
            if reset:  # closing with a zero linger time sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        owner = self.server.owner
        owner.enter()
        try:
            self._answer(owner)
        finally:
            owner.leave()

    def _answer(self, owner: FaultServer) -> None:
        plan = owner.plan
        owner.count("requests")
        if plan.delay:
            time.sleep(plan.delay)
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path not in ("/viewer/jpeg-cutout", "/viewer/fits-cutout"):
            self._reply(404, b"not found", "text/plain")
            return
        try:
            ra, dec = float(query["ra"]), float(query["dec"])
            layer = query["layer"]
        except (KeyError, ValueError):
            self._reply(400, b"bad request", "text/plain")
            return
        is_jpeg = url.path.endswith("jpeg-cutout")
        owner.count("jpeg" if is_jpeg else "fits")
        status = plan.broken.get(_key(ra, dec))
        if status is not None:
            owner.count(f"broken_{status}")
            self._reply(status, b"broken", "text/plain")
            return
        if is_jpeg:
            body, content_type = make_jpeg(ra, dec, layer), "image/jpeg"
        else:
            body = make_fits(ra, dec, layer, int(query.get("size", "64")), query.get("bands", "grz"))
            content_type = "application/fits"
        fault = owner.draw_fault(self.path)
        if fault is None:
            owner.count("ok")
            self._reply(200, body, content_type)
            return
        owner.count(fault)
        if fault in ("500", "429"):
            self._reply(int(fault), b"busy", "text/plain", {"Retry-After": str(plan.retry_after_seconds)})
        elif fault == "503":
            when = email.utils.formatdate(time.time() + plan.retry_after_seconds, usegmt=True)
            self._reply(503, b"unavailable", "text/plain", {"Retry-After": when})
        elif fault in ("truncate", "stall", "reset"):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2 if fault == "truncate" else 64])
            if fault == "stall":
                owner.stopping.wait(plan.stall_seconds)
            self._drop(reset=fault == "reset")
        elif fault == "short":
            self._reply(200, body[: len(body) // 2], content_type)
        elif fault == "stall_headers":
            owner.stopping.wait(plan.stall_seconds)
            self._drop(reset=False)
        else:  # pragma: no cover - FaultPlan.kinds is checked in FaultServer
            raise AssertionError(fault)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connection attempts of busy clients
    owner: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on stalls and time-outs; that is part of the test, not an error.
        pass


class FaultServer:
    """The fake viewer, serving on 127.0.0.1 from a background thread.

    Parameters
    ----------
    plan : FaultPlan, optional
        Faults to inject (none by default).
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.plan = plan or FaultPlan()
        unknown = set(self.plan.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        self.counts: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._rng = random.Random(self.plan.seed)
        self._faults: Counter[str] = Counter()
        self._in_flight = 0
        self.max_in_flight = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def enter(self) -> None:
        """Note a request being answered (for :attr:`max_in_flight`)."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def leave(self) -> None:
        """Note a request answered."""
        with self._lock:
            self._in_flight -= 1

    def count(self, what: str) -> None:
        """Add one to a counter."""
        with self._lock:
            self.counts[what] += 1

    def draw_fault(self, key: str) -> str | None:
        """Return the fault for this request of ``key``, or None to serve it."""
        with self._lock:
            limit = self.plan.max_faults_per_url
            if limit is not None and self._faults[key] >= limit:
                return None
            if self._rng.random() >= self.plan.rate:
                return None
            self._faults[key] += 1
            return self._rng.choice(self.plan.kinds)

    def reset_counts(self) -> None:
        """Zero the request counters."""
        with self._lock:
            self.counts.clear()
            self.max_in_flight = 0

    def jpeg_bytes(self, ra: float, dec: float, layer: str = "des-dr1") -> bytes:
        """The JPEG this server serves for (ra, dec)."""
        return make_jpeg(*_key(ra, dec), layer)

    def fits_bytes(
        self, ra: float, dec: float, layer: str = "des-dr1", size: int = 160, bands: str = "grz"
    ) -> bytes:
        """The FITS cube this server serves for (ra, dec)."""
        return make_fits(*_key(ra, dec), layer, size, bands)

    def start(self) -> FaultServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; stalled requests end at once."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
