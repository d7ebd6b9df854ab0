"""The generation service: one object graph for the job pipeline, and what spans its parts.

It builds the collaborators below and exposes them, so a caller that needs one piece
reaches it directly (`service.queue.accept(...)`, `service.readiness.attach(...)`,
`service.history.with_images(...)`, `service.cancellation.abandon(...)`); the methods
here are the operations that need more than one of them. Every way in (the synchronous
`POST /image`, the job API) goes through the same queue and worker loop.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from application.acceptance_records import refusal
from application.cancellation import Cancellation
from application.free_space import FreeBytes, FreeSpace, free_bytes_at
from application.health import DeviceReport, HealthReport
from application.history import History
from application.job_events import JobEvent, JobEventBroker
from application.job_outcome import outcome_error
from application.job_queue import JobQueue
from application.job_run import JobRun
from application.ports import EditPixels, ImageStore, ModelStore
from application.preview_board import PreviewBoard
from application.readiness import Readiness
from application.safety_screening import SafetyScreening
from application.upload_pruning import UploadPruning
from application.worker_loop import WorkerLoop
from domain.errors import ImageNotFound, JobNotFound, Problem, Remedy
from domain.generation_request import SEED_MAX
from domain.job import Job, JobStatus


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
        max_queued_per_client: int | None = None,
        preview_every: int = 5,
        clock: Callable[[], datetime] = utc_now,
        new_job_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        new_seed: Callable[[], int] = lambda: secrets.randbelow(SEED_MAX + 1),
        model_dir: Path | None = None,
        min_free_mb: int = 0,
        free_bytes: FreeBytes = free_bytes_at,
        edit_pixels: EditPixels | None = None,
        upload_pruning: UploadPruning | None = None,
        safety: SafetyScreening | None = None,
        max_parallel_jobs: int = 1,
    ) -> None:
        self._images = image_store
        self._models = model_store
        self._device_target = device_target
        self.clock = clock
        self.history = history
        self.readiness = Readiness()
        self.safety = safety if safety is not None else SafetyScreening()
        """The safety filter; its checker loads at start (`bring_up_safety`)."""
        self.events = JobEventBroker()
        folders = {"generated": image_store.directory}
        if model_dir is not None:
            folders["models"] = model_dir
        self.free_space = FreeSpace(folders, min_free_mb, free_bytes=free_bytes)
        self._upload_pruning = upload_pruning
        """Retention of uploads: with the history's, at start-up and after each job."""
        self._recovered: list[Job] = []
        self._closing = asyncio.Event()
        """Set when the service stops: event streams of waiting jobs end then."""

        def record(job: Job) -> None:
            history.record_soon(job)

        self.queue = JobQueue(
            self.readiness,
            self.events,
            max_queue,
            clock=clock,
            new_job_id=new_job_id,
            new_seed=new_seed,
            per_client=max_queued_per_client,
            on_accepted=history.record_accepted,
            check_storage=self.free_space.check,
            refuse=partial(refusal, folder=image_store.directory, free_space=self.free_space),
        )
        self.cancellation = Cancellation(self.queue, clock, record)
        self._previews = PreviewBoard()

        def worker_loop(slot: int) -> WorkerLoop:
            # Each loop has a job run of its own: one engine thread per job running.
            job_run = JobRun(
                image_store,
                model_store,
                history,
                self.events,
                clock,
                timeout_seconds,
                preview_every,
                forget=self.queue.forget,
                free_space=self.free_space,
                shutting_down=lambda: self.queue.closed,
                edit_pixels=edit_pixels,
                upload_pruning=upload_pruning,
                previews=self._previews,
                screening=self.safety,
            )
            return WorkerLoop(
                self.queue, job_run, self.cancellation, self.readiness, clock, record, slot
            )

        # One loop per job that may run at once; those past what the backend runs wait.
        self._loops = [worker_loop(slot) for slot in range(max_parallel_jobs)]

    # Start and stop ---------------------------------------------------------

    def recover_history(self) -> None:
        """Rebuild history from disk (blocking file reads: call it from a thread).

        The jobs that were waiting are queued again by ``start``, before the worker runs.
        """
        self.history.recover(self.clock())
        # Retention first, so `/jobs` never lists what it removed.
        self.history.apply_retention(self.clock())
        if self._upload_pruning is not None:
            self._upload_pruning.apply(self.history.jobs(), self.clock())
        self._recovered = self.history.waiting()
        for job in reversed(self.history.jobs()):
            if job.status.is_final:
                self.queue.remember(job)

    async def start(self) -> None:
        self._closing.clear()
        self.queue.restore(self._recovered)
        self._recovered = []
        for loop in self._loops:
            loop.start()

    def begin_shutdown(self) -> None:
        """Refuse new work and stop the running job, without waiting for it.

        For the server's exit signal: callers waiting on a job (``POST /image``, event
        streams) get their answer within a step instead of holding the server open. The
        waiting jobs stay queued, on disk too: the next start runs them.
        """
        self.queue.closed = True
        self.cancellation.stop_running()
        self.queue.release_waiters()
        self._closing.set()

    async def stop(self) -> None:
        """Refuse new work, stop what runs, leave no partial file, finish the records."""
        self.begin_shutdown()
        await asyncio.gather(*(loop.shutdown() for loop in self._loops))
        await asyncio.to_thread(self.history.close)

    # Jobs -------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """A job this run knows, else one from history."""
        try:
            return self.queue.get(job_id)
        except JobNotFound:
            try:
                return self.history.get(job_id)
            except ImageNotFound:
                raise JobNotFound(f"No job {job_id}.") from None

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        self.cancellation.cancel(job)
        return job

    def latest_preview(self, job_id: str) -> str | None:
        """The running job's latest preview image as a data: URL, for a caller that polls
        instead of following the job's events; None before the first and after the end."""
        return self._previews.latest(job_id)

    def subscribe(self, job_id: str) -> AsyncIterator[JobEvent]:
        """The job's events until its final one, or until the service stops (a waiting
        job has no final event then: it runs after the restart)."""
        job = self.get(job_id)
        return self._until_closing(job, self.events.subscribe(job.id, self.queue.snapshot(job)))

    async def _until_closing(
        self, job: Job, events: AsyncIterator[JobEvent]
    ) -> AsyncIterator[JobEvent]:
        closing = asyncio.ensure_future(self._closing.wait())
        following: asyncio.Future[JobEvent] | None = None
        try:
            while True:
                following = asyncio.ensure_future(anext(events))
                await asyncio.wait({following, closing}, return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    if job.status is JobStatus.QUEUED:
                        return
                    # A running job's final event ("interrupted") comes within a step.
                    await asyncio.wait({following})
                try:
                    event = following.result()
                except StopAsyncIteration:
                    return
                yield event
        finally:
            closing.cancel()
            if following is not None and not following.done():
                following.cancel()  # ends the subscription, which waits in it
            else:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()

    def raise_for_outcome(self, job: Job) -> None:
        """The error a caller who waited for ``job`` gets, if it did not succeed."""
        error = outcome_error(job, shutting_down=self.queue.closed)
        if error is not None:
            raise error

    async def delete_images(self, job_id: str) -> Job:
        # In the history's writer thread: a record write queued before cannot bring it back.
        job = await asyncio.wrap_future(self.history.in_order(self.history.delete, job_id))
        self.queue.forget([job])
        return job

    # Health -----------------------------------------------------------------

    def health(self) -> HealthReport:
        backend = self.readiness.loaded
        disk = self.free_space.readings()
        low_disk = self.free_space.problem_message()
        reason = None if self.readiness.backend is not None else self.readiness.reason
        if reason is None and low_disk is not None:
            reason = Problem(low_disk, (Remedy.FREE_DISK_SPACE,))
        return HealthReport(
            ready=reason is None,
            reason=reason,
            mock=backend.is_mock if backend is not None else False,
            model=self._models.status(),
            device=DeviceReport(
                target=self._device_target,
                active=backend.device if backend is not None else None,
                fallback_reason=backend.fallback_reason if backend is not None else None,
            ),
            generated_dir=str(self._images.directory),
            defaults=self.readiness.effective_defaults(),
            schedulers=self.readiness.schedulers,
            queued=len(self.queue.waiting),
            running=len(self.queue.running_jobs),
            disk=disk,
            min_free_mb=self.free_space.min_free_mb,
            safety=self.safety.report(),
        )
