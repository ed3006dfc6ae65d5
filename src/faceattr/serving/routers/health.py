"""``GET /health``: is a model loaded, which one, for how long the service has been up."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from faceattr import __version__
from faceattr.serving.deps import ServiceSettings, get_settings, model_name
from faceattr.serving.schemas import HealthResponse

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse, summary="Service and model status")
async def health(request: Request,
                 settings: Annotated[ServiceSettings, Depends(get_settings)]) -> HealthResponse:
    analyzer = getattr(request.app.state, "analyzer", None)
    gate = request.app.state.gate
    return HealthResponse(
        status="ok" if analyzer is not None else "no_model",
        model_loaded=analyzer is not None,
        model=model_name(analyzer, settings) if analyzer is not None else None,
        detect=settings.detect,
        uptime_s=round(time.monotonic() - request.app.state.started, 3),
        in_flight=gate.in_flight, max_concurrency=gate.max_concurrency,
        max_queue=gate.max_queue, version=__version__)
