"""Past images: list (newest first, paginated), one record, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import FieldError, InvalidRequest
from domain.job import Job
from entrypoints.app_state import services
from entrypoints.presenters import job_json

DEFAULT_PAGE, MAX_PAGE = 24, 100


def _record_json(request: Request, job: Job) -> dict[str, object]:
    """A past job: never queued any more, so no position."""
    built = services(request)
    return job_json(job, None, built.service.clock(), built.settings)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_PAGE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest([FieldError("limit", f"Must be an integer from 1 to {MAX_PAGE}.")])
    return int(raw)


async def list_images(request: Request) -> Response:
    limit = _limit(request)
    history = services(request).service.history
    jobs = history.with_images(limit + 1, request.query_params.get("before"))
    page = jobs[:limit]
    return JSONResponse(
        {
            "images": [_record_json(request, job) for job in page],
            "next_before": page[-1].id if len(jobs) > limit else None,
        }
    )


async def get_image_record(request: Request) -> Response:
    job = services(request).service.history.get(request.path_params["job_id"])
    return JSONResponse(_record_json(request, job))


async def delete_image(request: Request) -> Response:
    job = await services(request).service.delete_images(request.path_params["job_id"])
    return JSONResponse({"deleted": job.id, "images": [ref.name for ref in job.images]})


HISTORY_ROUTES = [
    Route("/images", list_images, methods=["GET"]),
    Route("/images/{job_id}.json", get_image_record, methods=["GET"]),
    Route("/images/{job_id}", delete_image, methods=["DELETE"]),
]
