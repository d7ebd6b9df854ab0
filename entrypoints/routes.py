"""HTTP routes. Handlers only translate: parse, call the service, present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, MalformedRangeHeader, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from application.generation_service import GenerationService
from application.health import HealthReport
from domain.errors import ImageNotFound
from entrypoints.history_routes import HISTORY_ROUTES
from entrypoints.job_routes import JOB_ROUTES
from entrypoints.presenters import health_json
from entrypoints.settings import Settings
from entrypoints.version import service_version

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


class _ImageFileResponse(FileResponse):
    """A PNG that ignores a malformed ``Range`` header, as RFC 9110 allows.

    Starlette answers one with a plain-text 400, the only error outside our JSON shape;
    the whole image is the more useful answer. (A test pins this override.)
    """

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []  # no ranges: the whole file, 200


async def get_image(request: Request) -> Response:
    path = request.app.state.image_store.path_of(request.path_params["name"])
    if path is None:
        raise ImageNotFound("No such image.")
    return _ImageFileResponse(
        path,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def _health_json(request: Request, report: HealthReport) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    # What a client must fit in: the UI warns when a job's pace will not finish in time.
    limits = {
        "inference_timeout_seconds": settings.inference_timeout_seconds,
        "max_queue": settings.max_queue,
    }
    return health_json(report, service_version(), limits)


async def health(request: Request) -> Response:
    return JSONResponse(_health_json(request, _service(request).health()))


async def health_live(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def health_ready(request: Request) -> Response:
    report = _service(request).health()
    return JSONResponse(_health_json(request, report), status_code=200 if report.ready else 503)


async def index(request: Request) -> Response:
    return FileResponse(
        STATIC_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


ROUTES = [
    Route("/", index, methods=["GET"]),
    *JOB_ROUTES,
    *HISTORY_ROUTES,
    Route("/images/{name}", get_image, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/health/live", health_live, methods=["GET"]),
    Route("/health/ready", health_ready, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
]
