"""Request/response models of the HTTP API (they define the OpenAPI schema at ``/openapi.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Gender(BaseModel):
    label: Literal["male", "female"]
    p_male: float | None = Field(description="probability the face is male (null if unknown)")


class FaceOut(BaseModel):
    """One face, as ``faceattr predict`` prints it (pixel coordinates of the uploaded image)."""

    model_config = ConfigDict(extra="allow")

    box: list[float] = Field(min_length=4, max_length=4, description="x0, y0, x1, y1")
    attributes: dict[str, float] = Field(description="CelebA attribute -> probability present")
    gender: Gender
    landmarks: list[list[float]] = Field(
        description="5 x [x, y]: left eye, right eye, nose, left and right mouth corner")
    detection_score: float | None = None


class ImageSize(BaseModel):
    width: int
    height: int


class AnalyzeResponse(BaseModel):
    faces: list[FaceOut]
    image: ImageSize = Field(description="size of the decoded image (EXIF orientation applied)")
    model: str = Field(description="name of the model that answered")
    ms: float = Field(description="decode + inference time on the server, in milliseconds")


class HealthResponse(BaseModel):
    status: Literal["ok", "no_model"]
    model_loaded: bool
    model: str | None
    detect: bool = Field(description="false: uploads are taken as aligned face crops")
    uptime_s: float
    in_flight: int = Field(description="requests running or queued right now")
    max_concurrency: int
    max_queue: int
    version: str


class ErrorResponse(BaseModel):
    """Every error the API returns: a human-readable ``detail`` and a stable ``error`` code."""

    detail: str
    error: str = Field(description="machine-readable code, e.g. 'unsupported_image', 'busy'")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="per-field problems, for request validation errors")
