"""The generation service: a bounded queue of jobs run one at a time on the current backend.

It owns seeds, job records and the job events, and answers for readiness (is
there a backend that can generate now, and if not, why). Every way in (the
synchronous `POST /image`, the job API) goes through the same queue and worker.
Inference and PNG encoding run in a worker thread so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timezone

import structlog

from application.health import DeviceReport, HealthReport
from application.history import History
from application.job_dispatcher import JobDispatcher
from application.job_events import JobEvent, JobEventBroker, final_event
from application.job_outcome import raise_for_outcome
from application.job_queue import JobQueue
from application.job_worker import JobWorker, progress_data
from application.ports import ImageBackend, ImageStore, ModelStore
from application.readiness import Readiness
from domain.errors import (
    ImageNotFound,
    InvalidTransition,
    JobNotFound,
    QueueFull,
    ServiceUnavailable,
)
from domain.generation_request import SEED_MAX, GenerationRequest
from domain.job import Job, JobStatus

log = structlog.get_logger("service")


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
        self._readiness = Readiness()
        self._queue = JobQueue(max_queue)
        self._closing = False
        self.events = JobEventBroker()
        worker = JobWorker(
            image_store,
            model_store,
            history,
            self.events,
            clock,
            timeout_seconds,
            preview_every,
            forget=self._forget,
        )
        self._dispatcher = JobDispatcher(self._queue, worker, self.events, self._readiness, clock)

    # Lifecycle and readiness --------------------------------------------

    def attach_backend(self, backend: ImageBackend) -> None:
        self._readiness.attach(backend)

    def mark_unavailable(self, reason: str) -> None:
        self._readiness.mark_unavailable(reason)

    def health(self) -> HealthReport:
        backend = self._readiness.backend
        return HealthReport(
            ready=backend is not None,
            reason=None if backend is not None else self._readiness.reason,
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
            running=1 if self._dispatcher.running is not None else 0,
        )

    def request_defaults(self) -> Mapping[str, int | float]:
        """What the loaded model wants for fields a request leaves out."""
        return self._readiness.request_defaults()

    def effective_defaults(self) -> dict[str, object]:
        return self._readiness.effective_defaults()

    def recover_history(self) -> None:
        """Rebuild history from disk (blocking file reads: call it from a thread)."""
        self._history.recover(self._clock())
        # Retention first, so `/jobs` never lists what it removed.
        self._history.apply_retention(self._clock())
        for job in reversed(self._history.jobs()):
            self._queue.remember(job)

    async def start(self) -> None:
        self._dispatcher.start()

    def begin_shutdown(self) -> None:
        """Refuse new work and cancel every job, without waiting for the running one.

        For the server's exit signal: callers waiting on a job (``POST /image``, event
        streams) get their answer within a step instead of holding the server open.
        """
        self._closing = True
        self._dispatcher.cancel_all()

    async def stop(self) -> None:
        """Refuse new work, cancel what waits, stop what runs, and leave no partial file."""
        self._closing = True
        await self._dispatcher.shutdown()

    # Submitting and waiting -------------------------------------------------

    def submit(self, request: GenerationRequest) -> Job:
        """Queue a request; raises at once if it cannot be served."""
        if self._closing:
            raise ServiceUnavailable("The service is shutting down.")
        self._readiness.check(request)
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
        position = self._dispatcher.enqueue(job)
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
        self.raise_for_outcome(job)
        return job

    def raise_for_outcome(self, job: Job) -> None:
        """The error a caller who waited for ``job`` gets, if it did not succeed."""
        raise_for_outcome(job, shutting_down=self._closing)

    def abandon(self, job: Job) -> None:
        """The waiting client went away: drop the job if it has not started yet."""
        if job.status is JobStatus.QUEUED:
            self.cancel(job.id)
            log.info("job_abandoned", job_id=job.id)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status.is_final:
            raise InvalidTransition(f"Job {job_id} is already {job.status.value}.")
        self._dispatcher.cancel(job)
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

    # Internals --------------------------------------------------------------

    def _forget(self, jobs: list[Job]) -> None:
        """History removed these jobs: their image URLs are gone, so are the jobs."""
        for job in jobs:
            self._queue.forget(job.id)

    def _seconds_until_a_slot(self) -> float:
        running = self._dispatcher.running
        eta = running.eta_seconds(self._clock()) if running is not None else None
        return eta or 5.0
