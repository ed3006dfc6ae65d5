"""ASGI middleware capping the request body: Content-Length first, then the streamed bytes."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _mb(n: int) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 100_000 else f"{n:,} bytes"


class BodyTooLarge(HTTPException):
    """413, raised from ``receive`` once the body streamed so far passes the cap."""

    error = "upload_too_large"

    def __init__(self, upload_limit: int, declared: int | None = None) -> None:
        what = (f"request body declares {_mb(declared)}" if declared is not None else
                "request body is over the limit")
        super().__init__(413, f"{what}; the upload limit is {_mb(upload_limit)} "
                         "(--max-upload-mb)")


class BodyLimitMiddleware:
    """Reject bodies over ``upload_limit + slack`` bytes (the slack is for multipart framing).

    A declared Content-Length over the cap is refused before anything is read; otherwise the
    bytes are counted as they stream in and the request fails as soon as they pass the cap.
    """

    def __init__(self, app: ASGIApp, upload_limit: int, slack: int) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.max_bytes = upload_limit + slack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > self.max_bytes:
            await _send_413(send, BodyTooLarge(self.upload_limit, declared))
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.upload_limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as err:  # raised outside FastAPI's handlers (e.g. a mounted app)
            if started:
                raise
            await _send_413(send, err)


async def _send_413(send: Send, err: BodyTooLarge) -> None:
    body = json.dumps({"detail": err.detail, "error": err.error}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
