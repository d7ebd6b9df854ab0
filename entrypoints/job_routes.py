"""Generation routes: the synchronous `POST /image` and the job API, one queue behind both."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.input_resolution import InputResolution
from domain.generation_request import GenerationRequest
from domain.input_image import edit_mode
from domain.job import Job, JobStatus
from entrypoints.api_models import GenerationBody
from entrypoints.app_state import services
from entrypoints.client_identity import client_of
from entrypoints.client_limits import ensure_visible, visible
from entrypoints.event_stream import job_events
from entrypoints.json_body import MAX_BODY_BYTES, read_json_object
from entrypoints.presenters import job_json
from entrypoints.request_validation import validated

# How long DELETE waits for a running job to reach its final state before answering.
CANCEL_WAIT_SECONDS = 30.0


def _job_json(request: Request, job: Job) -> dict[str, object]:
    built = services(request)
    queue = built.service.queue
    return job_json(job, queue.position(job), built.service.clock(), built.settings)


def generation_body_limit(max_upload_bytes: int) -> int:
    """A generation body may carry two images inline (init and mask), each up to the
    upload limit as base64 (4 characters per 3 bytes) in a data: URL, besides its fields."""
    inline_image = 4 * -(-max_upload_bytes // 3) + 64
    return MAX_BODY_BYTES + 2 * inline_image


async def _accept(request: Request) -> Job:
    """Queue the request's job, answered once its record is on disk. Only jobs accepted use
    up the client's RATE_LIMIT: a typo or a full queue costs it nothing.

    Input images become uploads first; a request refused after that (a mask of the wrong
    size, the rate, a full queue, a full disk) deletes them again.
    """
    built, client = services(request), client_of(request)
    max_upload = built.settings.max_upload_mb * 2**20
    raw = await read_json_object(request, generation_body_limit(max_upload))
    body = validated(GenerationBody, raw).model_dump(exclude_unset=True)
    # Before the input images are decoded and stored: a client over its rate, a full queue
    # or an edit the loaded model cannot do costs nothing. Each is checked again after.
    built.submissions.check(client.id)
    built.service.queue.check_room(client.id)
    built.service.readiness.check_mode(
        edit_mode(body.get("init_image") is not None, body.get("mask_image") is not None)
    )
    inputs = InputResolution(
        built.upload_store,
        built.image_store,
        built.service.history.get,
        max_upload,
        built.image_decoding,
    )
    resolved = await inputs.resolve(body, client.id, client.may_see)
    try:
        # Fields left out take the loaded model's defaults (a few-step model's).
        defaults = built.service.readiness.request_defaults()
        generation = GenerationRequest.from_mapping(resolved.values, defaults)
        built.submissions.check(client.id)  # again: resolving awaited
        job = built.service.queue.accept(generation, client.id)
        built.submissions.count(client.id)  # no await since the check: no request between
        await built.service.queue.recorded(job)
    except Exception:
        await inputs.discard(resolved)
        raise
    return job


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def create_image(request: Request) -> Response:
    service = services(request).service
    job = await _accept(request)
    finished = asyncio.ensure_future(service.queue.wait(job))
    gone = asyncio.ensure_future(_client_gone(request))
    await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if not finished.done():
        # The client left: a queued job is dropped, a running one finishes into history.
        service.cancellation.abandon(job)
        finished.cancel()
        return Response(status_code=499)
    service.raise_for_outcome(job)
    return JSONResponse(_job_json(request, job))


async def create_job(request: Request) -> Response:
    job = await _accept(request)
    return JSONResponse(
        _job_json(request, job), status_code=202, headers={"Location": f"/jobs/{job.id}"}
    )


async def list_jobs(request: Request) -> Response:
    jobs = services(request).service.queue.recent()
    return JSONResponse(
        {"jobs": [_job_json(request, job) for job in jobs if visible(request, job)]}
    )


async def get_job(request: Request) -> Response:
    job = ensure_visible(request, services(request).service.get(request.path_params["job_id"]))
    return JSONResponse(_job_json(request, job))


async def cancel_job(request: Request) -> Response:
    service = services(request).service
    ensure_visible(request, service.get(request.path_params["job_id"]))
    job = service.cancel(request.path_params["job_id"])
    if job.status is JobStatus.RUNNING:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(service.queue.wait(job), CANCEL_WAIT_SECONDS)
    return JSONResponse(_job_json(request, job))


JOB_ROUTES = [
    Route("/image", create_image, methods=["POST"]),
    Route("/jobs", create_job, methods=["POST"]),
    Route("/jobs", list_jobs, methods=["GET"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}", cancel_job, methods=["DELETE"]),
    Route("/jobs/{job_id}/events", job_events, methods=["GET"]),
]
