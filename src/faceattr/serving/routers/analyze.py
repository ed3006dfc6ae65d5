"""``POST /v1/analyze``: one uploaded photo in, its faces out (as ``faceattr predict`` prints)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile

from faceattr.data.images import load_rgb
from faceattr.serving._gate import Gate
from faceattr.serving.deps import (
    Analyzer,
    ServiceSettings,
    get_analyzer,
    get_gate,
    get_settings,
    model_name,
)
from faceattr.serving.errors import ApiError
from faceattr.serving.schemas import AnalyzeResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["analyze"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed multipart/form-data body"},
    413: {"model": ErrorResponse, "description": "upload over --max-upload-mb, or an image "
          "header claiming more than 40 megapixels (decompression bomb)"},
    415: {"model": ErrorResponse, "description": "not an image format that can be decoded"},
    422: {"model": ErrorResponse, "description": "no 'image' field, or an empty, truncated, "
          "corrupt or tiny image"},
    503: {"model": ErrorResponse, "description": "busy (concurrency and queue full) or no model"},
    504: {"model": ErrorResponse, "description": "not finished within --timeout-s"},
}


def _analyze(analyzer: Analyzer, data: bytes, detect: bool) -> dict[str, Any]:
    start = time.perf_counter()
    picture = load_rgb(data)
    faces = analyzer.predict(picture, detect=detect)
    return {"faces": faces, "image": {"width": picture.width, "height": picture.height},
            "ms": round((time.perf_counter() - start) * 1000, 2)}


@router.post("/analyze", response_model=AnalyzeResponse, responses=_ERRORS,
             summary="Attributes, gender and landmarks of every face in a photo")
async def analyze(
    image: Annotated[UploadFile, File(description="the photo (JPEG, PNG, WebP, TIFF, ...)")],
    analyzer: Annotated[Analyzer, Depends(get_analyzer)],
    settings: Annotated[ServiceSettings, Depends(get_settings)],
    gate: Annotated[Gate, Depends(get_gate)],
) -> dict[str, Any]:
    """Decode the upload and analyse it in a worker thread (bounded concurrency, deadline).

    With the service started with ``--no-detect`` the whole image is one aligned face crop.
    """
    limit = settings.max_upload_bytes
    data = await image.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "upload_too_large", f"uploaded file is over {limit:,} bytes, the "
                       "limit (--max-upload-mb)")
    result = await gate.run(lambda: _analyze(analyzer, data, settings.detect))
    return {**result, "model": model_name(analyzer, settings)}
