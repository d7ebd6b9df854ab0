"""HTTP routes. Handlers only translate: parse, call the service, present."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from entrypoints.app_state import services
from entrypoints.authentication import signed_in_client
from entrypoints.automatic1111.routes import AUTOMATIC1111_ROUTES
from entrypoints.history_routes import HISTORY_ROUTES
from entrypoints.image_files import get_image
from entrypoints.job_routes import JOB_ROUTES
from entrypoints.metrics import METRICS_ROUTES
from entrypoints.openai_images.routes import OPENAI_IMAGES_ROUTES
from entrypoints.openapi import openapi_json
from entrypoints.presenters import health_json
from entrypoints.session_routes import SESSION_ROUTES
from entrypoints.static_files import STATIC_DIR, StaticAssets, index
from entrypoints.upload_routes import UPLOAD_ROUTES
from entrypoints.version import service_version


def _health(request: Request) -> tuple[bool, dict[str, Any]]:
    built = services(request)
    report = built.service.health()
    body = health_json(report, service_version(), built.settings)
    if built.cluster is not None:
        body["cluster"] = built.cluster.describe()
    return report.ready, body


async def health(request: Request) -> Response:
    return JSONResponse(_health(request)[1])


async def health_live(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def health_ready(request: Request) -> Response:
    ready, body = _health(request)
    if signed_in_client(request) is None:
        # Public when keys are set: a caller without one learns the state, not the details.
        body = {"status": body["status"]}
    return JSONResponse(body, status_code=200 if ready else 503)


ROUTES = [
    Route("/", index, methods=["GET"]),
    *JOB_ROUTES,
    *HISTORY_ROUTES,
    Route("/images/{name}", get_image, methods=["GET"]),
    *UPLOAD_ROUTES,
    Route("/health", health, methods=["GET"]),
    Route("/health/live", health_live, methods=["GET"]),
    Route("/health/ready", health_ready, methods=["GET"]),
    *SESSION_ROUTES,
    *METRICS_ROUTES,
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Mount("/static", app=StaticAssets(directory=STATIC_DIR), name="static"),
    # Foreign APIs, for the tools that speak them; their owners document them, not
    # /openapi.json, and their errors take their shapes (entrypoints.error_dialects).
    Mount("/sdapi/v1", routes=AUTOMATIC1111_ROUTES, name="automatic1111"),
    Mount("/v1", routes=OPENAI_IMAGES_ROUTES, name="openai_images"),
]
