"""``create_app``: the FastAPI application, its lifespan (loads the model once) and its routers."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from faceattr import __version__
from faceattr.serving._gate import Gate
from faceattr.serving._limits import BodyLimitMiddleware
from faceattr.serving.deps import MULTIPART_SLACK, ServiceSettings
from faceattr.serving.errors import install_error_handlers
from faceattr.serving.routers import analyze, health, page

log = logging.getLogger(__name__)


def load_analyzer(settings: ServiceSettings) -> Any:
    """Build the :class:`~faceattr.inference.analyzer.FaceAnalyzer` the settings describe."""
    from faceattr.inference.analyzer import FaceAnalyzer

    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    analyzer = FaceAnalyzer(settings.model or "default",
                            detector=settings.detector if settings.detect else None)
    if settings.detect:
        try:
            analyzer.detector  # noqa: B018 -- load it now, not on the first request
        except ImportError as err:
            raise RuntimeError(f"face detection is not available ({err}); start with "
                               "--no-detect to analyse aligned face crops") from err
    return analyzer


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model once at startup; at shutdown let running inferences finish."""
    settings: ServiceSettings = app.state.settings
    app.state.analyzer = None
    if settings.model is not None:
        start = time.perf_counter()
        app.state.analyzer = await anyio.to_thread.run_sync(load_analyzer, settings)
        log.info("loaded model %s in %.2f s", settings.model, time.perf_counter() - start)
    app.state.gate = Gate(settings.max_concurrency, settings.max_queue, settings.timeout_s)
    app.state.started = time.monotonic()
    yield
    await app.state.gate.drain(settings.timeout_s)
    app.state.analyzer = None


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The application; nothing is loaded until its lifespan starts."""
    settings = settings or ServiceSettings()
    app = FastAPI(
        title="faceattr",
        version=__version__,
        summary="40 CelebA face attributes, gender and 5 landmarks for an uploaded photo",
        description="Models trained on CelebA/MTFL: non-commercial research use only.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodyLimitMiddleware, upload_limit=settings.max_upload_bytes,
                       slack=MULTIPART_SLACK)
    install_error_handlers(app)
    app.include_router(analyze.router)
    app.include_router(health.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(packages=[("faceattr.serving", "static")]), name="static")
    return app
