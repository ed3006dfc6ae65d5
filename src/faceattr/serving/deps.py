"""Settings and the shared ``Depends``: the analyzer, the settings and the concurrency gate.

Tests replace :func:`get_analyzer` through ``app.dependency_overrides``; anything with a
``predict(image, *, detect) -> list[dict]`` method (and optionally ``meta["name"]``) will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request

from faceattr.serving._gate import Gate
from faceattr.serving.errors import ApiError

#: Allowance for the multipart framing (boundaries, part headers) on top of the file itself.
MULTIPART_SLACK = 16 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """What ``faceattr serve`` configures.

    model : ``"default"``, a run folder, a ``.pt`` checkpoint or an ``.onnx`` file; None starts
        without a model (``/health`` says so, ``/v1/analyze`` answers 503).
    detect : False takes every upload as an aligned face crop (no detector needed).
    max_upload_mb : largest accepted file (MB = 10**6 bytes).
    max_concurrency : inferences running at once, each in a worker thread.
    max_queue : requests allowed to wait for a slot; past that, 503 busy.
    timeout_s : deadline per request, queue wait included; past it, 504.
    threads : torch intra-op threads (None: leave torch's default).
    """

    model: str | None = "default"
    detect: bool = True
    detector: str = "mtcnn"
    max_upload_mb: float = 10.0
    max_concurrency: int = 2
    max_queue: int = 32
    timeout_s: float = 30.0
    threads: int | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)


class Analyzer(Protocol):
    def predict(self, image: Any, *, detect: bool = True) -> list[dict[str, Any]]: ...


def model_name(analyzer: Any, settings: ServiceSettings) -> str:
    """``meta["name"]`` of the model, else the name of its file or folder."""
    meta = getattr(analyzer, "meta", None)
    if isinstance(meta, dict) and meta.get("name"):
        return str(meta["name"])
    return Path(str(settings.model)).name if settings.model else "unknown"


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def get_gate(request: Request) -> Gate:
    return request.app.state.gate


def get_analyzer(request: Request) -> Analyzer:
    analyzer = getattr(request.app.state, "analyzer", None)
    if analyzer is None:
        raise ApiError(503, "no_model", "no model is loaded (start with --model)")
    return analyzer
