"""Run the app on 127.0.0.1 in a background thread (tests, benchmarks) and a small load generator.

Both only ever talk to the loopback address 127.0.0.1; :func:`run_load` refuses other hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def serve_in_thread(app: Any, *, startup_timeout_s: float = 60.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=10))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="faceattr-serve")
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the faceattr service did not start (see the log above)")
        time.sleep(0.02)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class LoadResult:
    """Outcome of :func:`run_load`; latencies in milliseconds."""

    clients: int
    duration_s: float
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _load(url: str, image: bytes, filename: str, clients: int,
                duration_s: float, timeout_s: float) -> LoadResult:
    import httpx

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    samples: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = await client.post("/v1/analyze",
                                                 files={"image": (filename, image)})
                    key = str(response.status_code)
                    if response.status_code != 200 and len(samples) < 5:
                        samples.append(f"{key}: {response.text[:200]}")
                except httpx.HTTPError as err:
                    key = type(err).__name__
                    if len(samples) < 5:
                        samples.append(f"{key}: {err}")
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[key] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    total = sum(statuses.values())
    ok = statuses.get("200", 0)
    return LoadResult(clients=clients, duration_s=round(elapsed, 2), requests=total,
                      errors=total - ok, statuses=dict(statuses),
                      requests_per_s=round(ok / elapsed, 2),
                      p50_ms=round(_percentile(latencies, 50), 1),
                      p99_ms=round(_percentile(latencies, 99), 1),
                      max_ms=round(max(latencies, default=0.0), 1), error_samples=samples)


def run_load(url: str, image: bytes, *, clients: int = 32, duration_s: float = 30.0,
             filename: str = "face.jpg", timeout_s: float = 60.0) -> LoadResult:
    """``clients`` concurrent clients POST ``image`` to ``url``/v1/analyze for ``duration_s``.

    Every non-200 answer or transport error counts as an error. ``url`` must be on 127.0.0.1.
    """
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise ValueError(f"load tests only target {LOOPBACK}, not {host!r}")
    return asyncio.run(_load(url, image, filename, clients, duration_s, timeout_s))
