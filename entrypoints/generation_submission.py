"""Submitting a generation and waiting for it: what `POST /image` and every foreign API
(AUTOMATIC1111's `/sdapi/v1`, OpenAI's `/v1/images`) share, so that each call goes
through the one queue with the same keys, limits, timeouts and provenance.

The foreign APIs translate their bodies into ours (`GenerationBody`'s fields) and call
`accept_job` or `run_in_jobs`; nothing of theirs reaches the service.

A call of several jobs counts once against the client's RATE_LIMIT: its first job is
checked and counted, the later ones are not checked against the rate (they still need
room in the queue and on disk). A later job refused ends the call with the images made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from application.input_resolution import InputResolution
from domain.errors import (
    ClientQueueFull,
    DomainError,
    FieldError,
    InsufficientStorage,
    InvalidRequest,
    QueueFull,
)
from domain.generation_request import IMAGES_MAX, SEED_MAX, GenerationRequest
from domain.input_image import edit_mode
from domain.job import Job, JobStatus
from entrypoints.api_models import GenerationBody
from entrypoints.app_state import services
from entrypoints.calls_in_progress import CallInProgress
from entrypoints.client_identity import client_of
from entrypoints.json_body import MAX_BODY_BYTES
from entrypoints.request_validation import validated

CALL_MAX_IMAGES = 32
"""Images one foreign call may ask for: up to IMAGES_MAX per job, in consecutive jobs."""


def generation_body_limit(max_upload_bytes: int) -> int:
    """A generation body may carry two images inline (init and mask), each up to the
    upload limit as base64 (4 characters per 3 bytes) in a data: URL, besides its fields."""
    inline_image = 4 * -(-max_upload_bytes // 3) + 64
    return MAX_BODY_BYTES + 2 * inline_image


async def accept_job(
    request: Request, fields: Mapping[str, Any], *, rate_limited: bool = True
) -> Job:
    """Queue a job for ``fields`` (our API's body), answered once its record is on disk.
    Only jobs accepted use up the client's RATE_LIMIT: a typo or a full queue costs it
    nothing. A call's later jobs (``rate_limited`` False) are neither checked nor counted.

    Input images become uploads first; a request refused after that (a mask of the wrong
    size, the rate, a full queue, a full disk) deletes them again.
    """
    built, client = services(request), client_of(request)
    body = validated(GenerationBody, fields).model_dump(exclude_unset=True)
    # Before the input images are decoded and stored: a client over its rate, a full queue
    # or an edit the loaded model cannot do costs nothing. Each is checked again after.
    if rate_limited:
        built.submissions.check(client.id)
    built.service.queue.check_room(client.id)
    built.service.readiness.check_mode(
        edit_mode(body.get("init_image") is not None, body.get("mask_image") is not None)
    )
    inputs = InputResolution(
        built.upload_store,
        built.image_store,
        built.service.history.get,
        built.settings.max_upload_mb * 2**20,
        built.image_decoding,
    )
    resolved = await inputs.resolve(body, client.id, client.may_see)
    try:
        # Fields left out take the loaded model's defaults (a few-step model's).
        defaults = built.service.readiness.request_defaults()
        generation = GenerationRequest.from_mapping(resolved.values, defaults)
        if rate_limited:
            built.submissions.check(client.id)  # again: resolving awaited
        job = built.service.queue.accept(generation, client.id)
        if rate_limited:
            built.submissions.count(client.id)  # no await since the check: none between
        await built.service.queue.recorded(job)
    except Exception:
        await inputs.discard(resolved)
        raise
    return job


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def wait_for_job(request: Request, job: Job) -> bool:
    """Wait until ``job`` is final; False when the client left first. A queued job is
    then dropped; a running one finishes into the history."""
    service = services(request).service
    finished = asyncio.ensure_future(service.queue.wait(job))
    gone = asyncio.ensure_future(_client_gone(request))
    await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if finished.done():
        return True
    service.cancellation.abandon(job)
    finished.cancel()
    return False


REFUSALS = (QueueFull, ClientQueueFull, InsufficientStorage)
"""What may refuse a call's later job (the rate does not: see above): then the call ends
with the images made."""


@dataclass
class CallOutcome:
    """What a foreign call's jobs came to."""

    jobs: list[Job] = field(default_factory=list)
    """Every job accepted for the call, in order; the last may have been cancelled."""
    client_left: bool = False
    interrupted: bool = False
    """A cancel (an interrupt, the UI's cancel) ended the call before all its images."""
    refusal: DomainError | None = None
    """Why a later job was refused, which ended the call before all its images."""

    @property
    def succeeded(self) -> list[Job]:
        return [job for job in self.jobs if job.status is JobStatus.SUCCEEDED]


async def run_in_jobs(
    request: Request,
    fields: Mapping[str, Any],
    total_images: int,
    *,
    go_on_after_cancel: Callable[[Job], bool] = lambda job: False,
    field_name: str = "n",
    ends_on_interrupt: bool = False,
) -> CallOutcome:
    """``total_images`` images of ``fields`` as consecutive jobs of up to IMAGES_MAX each,
    with consecutive seeds, as AUTOMATIC1111 numbers a batch's. Each job is queued when
    the one before has finished: other clients' jobs may run between them, and one call
    never holds more than one place in the queue.

    A job that fails, or that the service's stop leaves queued or cuts short, raises its
    error as `POST /image` would (the images before it stay in the gallery). A cancel (the
    UI's, or the call stopped through `calls_in_progress`) ends the call with what was
    made, unless ``go_on_after_cancel`` says the job was skipped. A later job refused
    (REFUSALS) ends it with what was made too; with nothing made, the refusal is raised.
    """
    if not 1 <= total_images <= CALL_MAX_IMAGES:
        raise InvalidRequest(
            [FieldError(field_name, f"Must be between 1 and {CALL_MAX_IMAGES} images in all.")]
        )
    built = services(request)
    with built.calls_in_progress.entered(client_of(request).id, ends_on_interrupt) as call:
        return await _run(request, call, fields, total_images, go_on_after_cancel)


async def _run(
    request: Request,
    call: CallInProgress,
    fields: Mapping[str, Any],
    total_images: int,
    go_on_after_cancel: Callable[[Job], bool],
) -> CallOutcome:
    service = services(request).service
    outcome = CallOutcome()
    done = 0
    seed = fields.get("seed")
    # A bad seed is left in the fields for the first job's validation to report.
    first_seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
    while done < total_images:
        chunk = {**fields, "num_images": min(IMAGES_MAX, total_images - done)}
        if first_seed is not None and done:
            # The first job keeps the seed as given: out of range, its check refuses it.
            chunk["seed"] = (first_seed + done) % (SEED_MAX + 1)
        try:
            job = await accept_job(request, chunk, rate_limited=not outcome.jobs)
        except REFUSALS as refusal:
            if not outcome.succeeded:
                raise
            outcome.refusal = refusal
            return outcome
        outcome.jobs.append(job)
        call.job = job
        if call.stopped:
            call.stop(service.cancellation.cancel)  # stopped while this job was accepted
        if first_seed is None:
            first_seed = job.seed
        if not await wait_for_job(request, job):
            outcome.client_left = True
            return outcome
        call.begun = True
        cancelled = job.status is JobStatus.CANCELLED and not service.queue.closed
        if job.status is not JobStatus.SUCCEEDED and not cancelled:
            # Still queued as the service stops, cut short by it, or failed.
            service.raise_for_outcome(job)
        if cancelled and (call.stopped or not go_on_after_cancel(job)):
            outcome.interrupted = True
            return outcome
        done += job.request.num_images
        if call.stopped and done < total_images:
            outcome.interrupted = True  # stopped as this job ended, before the next
            return outcome
    return outcome
