"""Generation routes: the synchronous `POST /image` and the job API, one queue behind both."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.generation_service import GenerationService
from domain.generation_request import GenerationRequest
from domain.job import JobStatus
from entrypoints.json_body import read_json_object
from entrypoints.presenters import job_json

# How long DELETE waits for a running job to reach its final state before answering.
CANCEL_WAIT_SECONDS = 30.0
# At the server's exit every job is cancelled and each stream ends with its final event
# within a step; only a wedged engine needs sse-starlette to cut a stream off.
STREAM_SHUTDOWN_GRACE_SECONDS = 30.0


def _service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


async def _read_generation_request(request: Request) -> GenerationRequest:
    body = await read_json_object(request)
    return GenerationRequest.from_mapping(body, _service(request).request_defaults())


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def create_image(request: Request) -> Response:
    service = _service(request)
    job = service.submit(await _read_generation_request(request))
    finished = asyncio.ensure_future(service.wait(job))
    gone = asyncio.ensure_future(_client_gone(request))
    await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if not finished.done():
        # The client left: a queued job is dropped, a running one finishes into history.
        service.abandon(job)
        finished.cancel()
        return Response(status_code=499)
    service.raise_for_outcome(job)
    return JSONResponse(job_json(job, service))


async def create_job(request: Request) -> Response:
    service = _service(request)
    job = service.submit(await _read_generation_request(request))
    return JSONResponse(
        job_json(job, service), status_code=202, headers={"Location": f"/jobs/{job.id}"}
    )


async def list_jobs(request: Request) -> Response:
    service = _service(request)
    return JSONResponse({"jobs": [job_json(job, service) for job in service.recent_jobs()]})


async def get_job(request: Request) -> Response:
    service = _service(request)
    return JSONResponse(job_json(service.get(request.path_params["job_id"]), service))


async def cancel_job(request: Request) -> Response:
    service = _service(request)
    job = service.cancel(request.path_params["job_id"])
    if job.status is JobStatus.RUNNING:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(service.wait(job), CANCEL_WAIT_SECONDS)
    return JSONResponse(job_json(job, service))


async def job_events(request: Request) -> Response:
    service = _service(request)
    events = service.subscribe(request.path_params["job_id"])

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            yield ServerSentEvent(data=json.dumps(event.data), event=event.kind)

    return EventSourceResponse(
        stream(),
        ping=15,
        headers={"Cache-Control": "no-store"},
        shutdown_grace_period=STREAM_SHUTDOWN_GRACE_SECONDS,
    )


JOB_ROUTES = [
    Route("/image", create_image, methods=["POST"]),
    Route("/jobs", create_job, methods=["POST"]),
    Route("/jobs", list_jobs, methods=["GET"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}", cancel_job, methods=["DELETE"]),
    Route("/jobs/{job_id}/events", job_events, methods=["GET"]),
]
