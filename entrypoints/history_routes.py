"""Past images: list (newest first, paginated), one record, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import ImageNotFound
from domain.job import Job
from entrypoints.api_models import ImagesQuery
from entrypoints.app_state import services
from entrypoints.client_limits import ensure_visible, visible
from entrypoints.presenters import job_json
from entrypoints.request_validation import validated


def _record_json(request: Request, job: Job) -> dict[str, object]:
    """A past job: never queued any more, so no position."""
    built = services(request)
    return job_json(job, None, built.service.clock(), built.settings)


async def list_images(request: Request) -> Response:
    query = validated(ImagesQuery, request.query_params)
    limit = query.limit
    jobs = services(request).service.history.with_images(
        limit + 1, query.before, lambda job: visible(request, job)
    )
    page = jobs[:limit]
    return JSONResponse(
        {
            "images": [_record_json(request, job) for job in page],
            "next_before": page[-1].id if len(jobs) > limit else None,
        }
    )


async def get_image_record(request: Request) -> Response:
    job = services(request).service.history.get(request.path_params["job_id"])
    job = ensure_visible(request, job, lambda job_id: ImageNotFound(f"No image record {job_id}."))
    return JSONResponse(_record_json(request, job))


async def delete_image(request: Request) -> Response:
    service = services(request).service
    ensure_visible(request, service.get(request.path_params["name"]))
    job = await service.delete_images(request.path_params["name"])
    return JSONResponse({"deleted": job.id, "images": [ref.name for ref in job.images]})


HISTORY_ROUTES = [
    Route("/images", list_images, methods=["GET"]),
    Route("/images/{job_id}.json", get_image_record, methods=["GET"]),
    Route("/images/{name}", delete_image, methods=["DELETE"]),
]
