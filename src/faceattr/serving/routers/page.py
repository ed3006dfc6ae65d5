"""``GET /``: the single-page web UI (plain HTML + JS from the package's ``static/`` folder)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    html = (files("faceattr.serving") / "static" / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html)
