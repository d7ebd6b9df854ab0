"""AUTOMATIC1111's `progress`, `interrupt` and `skip`, on our one queue.

A1111 runs one job for one user; we run a queue for several. So `progress` counts the
whole queue honestly (`job_count` = running + waiting) but describes only a job the caller
may see: the running one when it is theirs (or they are an admin), else their own first
waiting job, else nothing. Both `interrupt` and `skip` answer 200 either way, as A1111
does when there is nothing to stop:
- `skip` cancels the running job when the caller may see it; its call goes on.
- `interrupt` ends calls, as A1111's ends the whole batch: the call of the running job
  when the caller may see that job (that job alone when it belongs to no call), and the
  caller's own calls in progress, even between two of their jobs (the next one queued or
  about to be). Other jobs waiting in the queue, the caller's own `POST /jobs` too, are
  left alone.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from domain.job import Job, JobStatus
from entrypoints.app_state import services
from entrypoints.automatic1111.job_timestamp import job_timestamp
from entrypoints.client_identity import client_of

_TRUE = {"true", "1", "yes", "on"}


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").strip().lower() in _TRUE


def _running_job(request: Request) -> Job | None:
    """The job that runs now, whoever's it is; None between jobs."""
    running = services(request).service.queue.running
    # A job is marked final a moment before it stops counting as running.
    if running is None or running.status is not JobStatus.RUNNING:
        return None
    return running


def _state(request: Request, job: Job | None, job_count: int, job_no: int) -> dict[str, Any]:
    built = services(request)
    stopping = job is not None and (
        job.status is JobStatus.CANCELLED or built.service.cancellation.stop_requested(job)
    )
    skipped = stopping and job is not None and built.skipped_jobs.is_skipped(job.id)
    return {
        "skipped": skipped,
        "interrupted": stopping and not skipped,
        "job": job.id if job is not None else "",
        "job_count": job_count,
        "job_timestamp": job_timestamp(job) if job is not None else "",
        "job_no": job_no,
        "sampling_step": job.step if job is not None else 0,
        "sampling_steps": job.total_steps if job is not None else 0,
    }


def _preview(request: Request, job: Job) -> str | None:
    """The running job's latest preview as base64 without the data: prefix."""
    preview = services(request).service.latest_preview(job.id)
    if preview is None:
        return None
    return preview.partition(",")[2] or None


async def progress(request: Request) -> Response:
    built, client = services(request), client_of(request)
    queue = built.service.queue
    running = _running_job(request)
    waiting = list(queue.waiting)
    job_count = len(waiting) + (1 if running is not None else 0)
    answer: dict[str, Any] = {
        "progress": 0.0,
        "eta_relative": 0.0,
        "state": _state(request, None, job_count, 0),
        "current_image": None,
        "textinfo": None,
    }
    if running is not None and client.may_see(running.owner):
        eta = running.eta_seconds(built.service.clock())
        answer.update(
            progress=min(1.0, running.step / running.total_steps) if running.total_steps else 0.0,
            eta_relative=float(eta or 0.0),
            state=_state(request, running, job_count, 0),
            current_image=None
            if _flag(request, "skip_current_image")
            else _preview(request, running),
        )
        return JSONResponse(answer)
    own = next((job for job in waiting if client.may_see(job.owner)), None)
    if own is not None:
        ahead = waiting.index(own) + (1 if running is not None else 0)
        answer.update(
            state=_state(request, own, job_count, ahead),
            textinfo=f"Waiting: {ahead} {'job' if ahead == 1 else 'jobs'} ahead",
        )
    return JSONResponse(answer)


async def interrupt(request: Request) -> Response:
    """Stops the running job and with it the rest of its call, and the caller's A1111
    calls under way (between two of their jobs); what merely waits is left alone."""
    built, client = services(request), client_of(request)
    calls = built.calls_in_progress
    stopping = calls.under_way(client.id)
    running = _running_job(request)
    if running is not None and client.may_see(running.owner):
        call = calls.of_job(running)
        if call is None:
            built.service.cancellation.cancel(running)
        else:
            stopping.append(call)  # an admin's stop of another client's call
    for call in stopping:
        call.stop(built.service.cancellation.cancel)
    return JSONResponse({})


async def skip(request: Request) -> Response:
    """Drops the running job's images; the rest of its call goes on."""
    built = services(request)
    running = _running_job(request)
    if running is not None and client_of(request).may_see(running.owner):
        # Marked first: the call that asks once the job has ended must find it skipped.
        built.skipped_jobs.skip(running.id)
        built.service.cancellation.cancel(running)
    return JSONResponse({})


CONTROL_ROUTES: list[BaseRoute] = [
    Route("/progress", progress, methods=["GET"]),
    Route("/interrupt", interrupt, methods=["POST"]),
    Route("/skip", skip, methods=["POST"]),
]
