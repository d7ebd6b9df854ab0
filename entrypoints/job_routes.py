"""Generation routes: the synchronous `POST /image` and the job API, one queue behind both."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.job import Job, JobStatus
from entrypoints.app_state import services
from entrypoints.client_limits import ensure_visible, visible
from entrypoints.event_stream import job_events
from entrypoints.generation_submission import accept_job, generation_body_limit, wait_for_job
from entrypoints.json_body import read_json_object
from entrypoints.presenters import job_json

# How long DELETE waits for a running job to reach its final state before answering.
CANCEL_WAIT_SECONDS = 30.0


def _job_json(request: Request, job: Job) -> dict[str, object]:
    built = services(request)
    queue = built.service.queue
    return job_json(job, queue.position(job), built.service.clock(), built.settings)


async def _accept(request: Request) -> Job:
    max_upload = services(request).settings.max_upload_mb * 2**20
    return await accept_job(
        request, await read_json_object(request, generation_body_limit(max_upload))
    )


async def create_image(request: Request) -> Response:
    job = await _accept(request)
    if not await wait_for_job(request, job):
        return Response(status_code=499)
    services(request).service.raise_for_outcome(job)
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
