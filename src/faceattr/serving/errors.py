"""API errors: one JSON shape (:class:`~faceattr.serving.schemas.ErrorResponse`) for all of them.

Status codes
------------
400 ``invalid_multipart``: the body claims to be multipart/form-data but cannot be parsed.
413 ``upload_too_large``: the request body / uploaded file is over ``--max-upload-mb``
    (Content-Length checked first, then the bytes actually streamed).
413 ``image_too_large``: the image header claims more than 40 MP (decompression bomb or an
    absurd size); rejected before any pixel is decoded.
415 ``unsupported_image``: the bytes are not an image format Pillow recognises.
422 ``invalid_image``: empty, truncated, corrupt or too small (< 8 px a side) image.
422 ``invalid_request``: the multipart field ``image`` is missing (wrong field name, empty body,
    not multipart).
503 ``busy``: ``--max-concurrency`` requests running and the queue is full; retry later.
503 ``no_model``: the service has no model loaded.
504 ``timeout``: the request did not finish within ``--timeout-s`` (queue wait included).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from faceattr.data.errors import ImageDecodeError


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message for the user."""

    def __init__(self, status: int, error: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def from_decode_error(err: ImageDecodeError) -> ApiError:
    """Map :func:`faceattr.data.images.load_rgb`'s message to a status (see module docstring)."""
    message = str(err)
    if "not a recognised image format" in message:
        return ApiError(415, "unsupported_image", f"{message} (send a JPEG, PNG, WebP, BMP, "
                        "GIF or TIFF photo)")
    if "over the limit" in message or "decompression bomb" in message:
        return ApiError(413, "image_too_large", message)
    return ApiError(422, "invalid_image", message)


def _body(error: str, detail: str, errors: list[dict[str, str]] | None = None) -> dict:
    out: dict = {"detail": detail, "error": error}
    if errors is not None:
        out["errors"] = errors
    return out


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(_body(exc.error, exc.detail), status_code=exc.status,
                        headers=exc.headers)


async def _decode_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ImageDecodeError)
    return await _api_error(request, from_decode_error(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error = getattr(exc, "error", None) or f"http_{exc.status_code}"
    detail = str(exc.detail)
    if exc.status_code == 400 and "multipart" in detail.lower():
        error = "invalid_multipart"
        detail = (f"{detail.rstrip('.')}: send the photo as a multipart/form-data upload in "
                  "field 'image'")
    return JSONResponse(_body(error, detail), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg", "")),
                 "type": str(e.get("type", ""))} for e in exc.errors()]
    if any(p["loc"] == "body.image" for p in problems):
        detail = ("no file in multipart/form-data field 'image': upload the photo as "
                  "'image' (e.g. curl -F image=@photo.jpg)")
    else:
        detail = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems) or "invalid request"
    return JSONResponse(_body("invalid_request", detail, problems), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into an ``ErrorResponse``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ImageDecodeError, _decode_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
