"""HTTP service: ``POST /v1/analyze``, ``GET /health``, the web page at ``/`` and ``/docs``.

``create_app(ServiceSettings(...))`` builds the FastAPI application; ``faceattr serve`` runs it
with uvicorn. The model is loaded once, in the application's lifespan.
"""

from faceattr.serving.app import create_app
from faceattr.serving.deps import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
