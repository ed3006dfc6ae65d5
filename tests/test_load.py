"""A short, bounded load test: 8 concurrent clients for 5 s against 127.0.0.1, zero errors.

The full run (32 clients x 30 s) is ``benchmarks/service_load.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faceattr.serving import ServiceSettings, create_app
from faceattr.serving.local import run_load, serve_in_thread

CLIENTS, SECONDS = 8, 5.0


def test_concurrent_clients_get_no_errors(celeba_root: Path,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    from test_service import train_tiny

    model = train_tiny(celeba_root, tmp_path_factory)
    image = (celeba_root / "img_align_celeba" / "000004.jpg").read_bytes()
    settings = ServiceSettings(model=str(model), detect=False, max_concurrency=2,
                               max_queue=CLIENTS, timeout_s=30)
    with serve_in_thread(create_app(settings)) as url:
        result = run_load(url, image, clients=CLIENTS, duration_s=SECONDS)
    print(f"\n{CLIENTS} clients x {SECONDS:g} s: {result.requests} requests, "
          f"{result.requests_per_s} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, "
          f"errors {result.errors} {result.statuses}")
    assert result.errors == 0, result.error_samples
    assert result.requests >= CLIENTS


def test_load_refuses_other_hosts() -> None:
    with pytest.raises(ValueError, match=r"only target 127\.0\.0\.1"):
        run_load("http://localhost:8000", b"", clients=1, duration_s=0.1)
    with pytest.raises(ValueError, match=r"only target 127\.0\.0\.1"):
        run_load("http://10.0.0.1:8000", b"", clients=1, duration_s=0.1)
