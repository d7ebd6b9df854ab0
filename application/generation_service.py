"""The generation service: a bounded queue of jobs run one at a time on the current backend.

It owns readiness (is there a backend that can generate now, and if not, why),
seeds, job records, the time limit and the job events. Every way in (the
synchronous `POST /image`, the job API) goes through the same queue and worker.
Inference and PNG encoding run in a worker thread so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timezone

import structlog

from application.health import DeviceReport, HealthReport
from application.history import History
from application.job_events import JobEvent, JobEventBroker
from application.job_outcome import failure_error, raise_for_outcome
from application.job_queue import JobQueue
from application.job_worker import JobWorker, progress_data
from application.ports import ImageBackend, ImageStore, ModelStore
from domain.errors import (
    ImageNotFound,
    InvalidTransition,
    JobNotFound,
    QueueFull,
    ServiceUnavailable,
    UnsupportedOption,
)
from domain.generation_request import SEED_MAX, GenerationRequest
from domain.job import Job, JobError, JobStatus

log = structlog.get_logger("service")

SHUTDOWN_WAIT_SECONDS = 60.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GenerationService:
    def __init__(
        self,
        image_store: ImageStore,
        model_store: ModelStore,
        history: History,
        *,
        device_target: str,
        timeout_seconds: float,
        max_queue: int = 16,
        preview_every: int = 5,
        clock: Callable[[], datetime] = utc_now,
        new_job_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        new_seed: Callable[[], int] = lambda: secrets.randbelow(SEED_MAX + 1),
    ) -> None:
        self._images = image_store
        self._models = model_store
        self._history = history
        self._device_target = device_target
        self._clock = clock
        self._new_job_id = new_job_id
        self._new_seed = new_seed
        self._backend: ImageBackend | None = None
        self._unavailable_reason = "The image backend is starting."
        self._queue = JobQueue(max_queue)
        self._stops: dict[str, threading.Event] = {}
        self._log_context: dict[str, dict[str, object]] = {}
        self._running: Job | None = None
        self._closing = False
        self._worker_task: asyncio.Task[None] | None = None
        self.events = JobEventBroker()
        self._runner = JobWorker(
            image_store,
            model_store,
            history,
            self.events,
            clock,
            timeout_seconds,
            preview_every,
            forget=self._forget,
        )

    # Lifecycle and readiness --------------------------------------------

    def attach_backend(self, backend: ImageBackend) -> None:
        self._backend = backend

    def mark_unavailable(self, reason: str) -> None:
        self._backend = None
        self._unavailable_reason = reason

    def health(self) -> HealthReport:
        backend = self._backend
        return HealthReport(
            ready=backend is not None,
            reason=None if backend is not None else self._unavailable_reason,
            mock=backend.is_mock if backend is not None else False,
            model=self._models.status(),
            device=DeviceReport(
                target=self._device_target,
                active=backend.device if backend is not None else None,
                fallback_reason=backend.fallback_reason if backend is not None else None,
            ),
            generated_dir=str(self._images.directory),
            defaults=self.effective_defaults(),
            queued=len(self._queue.waiting),
            running=1 if self._running is not None else 0,
        )

    def request_defaults(self) -> Mapping[str, int | float]:
        """What the loaded model wants for fields a request leaves out."""
        return self._backend.request_defaults if self._backend is not None else {}

    def effective_defaults(self) -> dict[str, object]:
        standard = GenerationRequest(prompt="-").to_dict()
        keys = ("num_inference_steps", "guidance_scale", "width", "height", "num_images")
        return {key: standard[key] for key in keys} | dict(self.request_defaults())

    def recover_history(self) -> None:
        """Rebuild history from disk (blocking file reads: call it from a thread)."""
        self._history.recover(self._clock())
        # Retention first, so `/jobs` never lists what it removed.
        self._history.apply_retention(self._clock())
        for job in reversed(self._history.jobs()):
            self._queue.remember(job)

    async def start(self) -> None:
        if self._worker_task is None:
            self._worker_task = asyncio.create_task(self._work(), name="generation-worker")

    async def stop(self) -> None:
        """Refuse new work, cancel what waits, stop what runs, and leave no partial file."""
        self._closing = True
        for job in self._queue.waiting:
            self.cancel(job.id)
        running = self._running
        # The worker marks a job final a moment before it clears `_running`.
        if running is not None and not running.status.is_final:
            self.cancel(running.id)
            # It stops within one step; the bound only guards against a wedged engine.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wait(running), SHUTDOWN_WAIT_SECONDS)
        if self._worker_task is not None:
            self._worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        await asyncio.to_thread(self._runner.shutdown)

    # Submitting and waiting -------------------------------------------------

    def submit(self, request: GenerationRequest) -> Job:
        """Queue a request; raises at once if it cannot be served."""
        backend = self._backend
        if self._closing:
            raise ServiceUnavailable("The service is shutting down.")
        if backend is None:
            raise ServiceUnavailable(self._unavailable_reason)
        if request.scheduler is not None and request.scheduler not in backend.schedulers:
            raise UnsupportedOption(
                "scheduler",
                f"This engine has no {request.scheduler!r} scheduler; it offers "
                f"{', '.join(backend.schedulers)}.",
            )
        if self._queue.is_full:
            raise QueueFull(
                f"The queue is full ({self._queue.capacity} jobs waiting). Try again shortly.",
                retry_after_seconds=max(1, round(self._seconds_until_a_slot())),
            )
        seed = request.seed if request.seed is not None else self._new_seed()
        job = Job(
            id=self._new_job_id(),
            request=request.with_seed(seed),
            seed=seed,
            created_at=self._clock(),
        )
        # The worker logs this job's lines with the submitting request's id.
        self._log_context[job.id] = structlog.contextvars.get_contextvars()
        position = self._queue.add(job)
        self.events.publish(job.id, self.snapshot_event(job))
        log.info(
            "job_queued",
            job_id=job.id,
            position=position,
            steps=request.num_inference_steps,
            images=request.num_images,
        )
        return job

    async def wait(self, job: Job) -> Job:
        await self._queue.wait(job)
        return job

    async def generate(self, request: GenerationRequest) -> Job:
        """Submit and wait; the outcome of a failed job is raised as its error."""
        job = self.submit(request)
        await self.wait(job)
        raise_for_outcome(job)
        return job

    def abandon(self, job: Job) -> None:
        """The waiting client went away: drop the job if it has not started yet."""
        if job.status is JobStatus.QUEUED:
            self.cancel(job.id)
            log.info("job_abandoned", job_id=job.id)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status.is_final:
            raise InvalidTransition(f"Job {job_id} is already {job.status.value}.")
        if job.status is JobStatus.QUEUED:
            self._queue.remove_waiting(job)
            self._log_context.pop(job.id, None)
            job.cancel(self._clock())
            self._finish(job)
            self._publish_positions()
        else:
            self._stops[job.id].set()
        return job

    # Queries --------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        try:
            return self._queue.get(job_id)
        except JobNotFound:
            try:
                return self._history.get(job_id)
            except ImageNotFound:
                raise JobNotFound(f"No job {job_id}.") from None

    def images(self, limit: int, before: str | None = None) -> list[Job]:
        """Past jobs with images, newest first."""
        return self._history.with_images(limit, before)

    def image_record(self, job_id: str) -> Job:
        return self._history.get(job_id)

    async def delete_images(self, job_id: str) -> Job:
        job = await asyncio.to_thread(self._history.delete, job_id)
        self._forget([job])
        return job

    def recent_jobs(self) -> list[Job]:
        return self._queue.recent()

    def queue_position(self, job: Job) -> int | None:
        return self._queue.position(job)

    def eta_seconds(self, job: Job) -> float | None:
        return job.eta_seconds(self._clock())

    def snapshot_event(self, job: Job) -> JobEvent:
        """The job's state now, as the event a late subscriber gets first."""
        if job.status is JobStatus.QUEUED:
            return JobEvent("queued", {"queue_position": self.queue_position(job)})
        if job.status is JobStatus.RUNNING:
            return JobEvent("progress", progress_data(job, self._clock()))
        return final_event(job)

    def subscribe(self, job_id: str) -> AsyncIterator[JobEvent]:
        job = self.get(job_id)
        return self.events.subscribe(job.id, self.snapshot_event(job))

    # The worker -------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.next_job()
            with structlog.contextvars.bound_contextvars(**self._log_context.pop(job.id, {})):
                try:
                    self._publish_positions()
                    await self._run(job)
                except Exception as error:
                    # One job's trouble must not end the worker: every job behind it
                    # would wait forever, and this one would never reach a final state.
                    self._fail_unexpectedly(job, error)
                finally:
                    self._finish(job)

    async def _run(self, job: Job) -> None:
        backend = self._backend
        if backend is None:
            job.fail(self._clock(), JobError("unavailable", self._unavailable_reason))
            return
        stop = threading.Event()
        self._stops[job.id] = stop
        self._running = job
        try:
            await self._runner.run(job, backend, stop)
        finally:
            self._running = None
            self._stops.pop(job.id, None)

    def _fail_unexpectedly(self, job: Job, error: Exception) -> None:
        if not job.status.is_final:
            job.fail(self._clock(), failure_error(job))
        log.error(
            "job_worker_error",
            job_id=job.id,
            status=job.status.value,
            error_type=type(error).__name__,
            exc_info=error,
        )

    def _finish(self, job: Job) -> None:
        self.events.publish(job.id, final_event(job))
        self._queue.mark_finished(job)

    def _forget(self, jobs: list[Job]) -> None:
        """History removed these jobs: their image URLs are gone, so are the jobs."""
        for job in jobs:
            self._queue.forget(job.id)

    def _publish_positions(self) -> None:
        for position, waiting in enumerate(self._queue.waiting, start=1):
            self.events.publish(waiting.id, JobEvent("queued", {"queue_position": position}))

    def _seconds_until_a_slot(self) -> float:
        running = self._running
        eta = running.eta_seconds(self._clock()) if running is not None else None
        return eta or 5.0


def final_event(job: Job) -> JobEvent:
    """The event that ends a job's stream, live or for a subscriber who comes late."""
    data: dict[str, object] = {}
    if job.error is not None:
        data["error"] = {"type": job.error.type, "message": job.error.message}
    return JobEvent(job.status.value, data)
