"""Past images: list (newest first, paginated), one record, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.generation_service import GenerationService
from domain.errors import FieldError, InvalidRequest
from entrypoints.presenters import job_json

DEFAULT_PAGE, MAX_PAGE = 24, 100


def _service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_PAGE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest([FieldError("limit", f"Must be an integer from 1 to {MAX_PAGE}.")])
    return int(raw)


async def list_images(request: Request) -> Response:
    service = _service(request)
    limit = _limit(request)
    jobs = service.images(limit + 1, request.query_params.get("before"))
    page = jobs[:limit]
    return JSONResponse(
        {
            "images": [job_json(job, service) for job in page],
            "next_before": page[-1].id if len(jobs) > limit else None,
        }
    )


async def get_image_record(request: Request) -> Response:
    service = _service(request)
    return JSONResponse(job_json(service.image_record(request.path_params["job_id"]), service))


async def delete_image(request: Request) -> Response:
    service = _service(request)
    job = await service.delete_images(request.path_params["job_id"])
    return JSONResponse({"deleted": job.id, "images": [ref.name for ref in job.images]})


HISTORY_ROUTES = [
    Route("/images", list_images, methods=["GET"]),
    Route("/images/{job_id}.json", get_image_record, methods=["GET"]),
    Route("/images/{job_id}", delete_image, methods=["DELETE"]),
]
