"""The one loop that takes queued jobs in order and runs each to a final state.

It also owns what a job needs between submission and its end: the submitter's
log context, the stop flag of the running job, and the events that tell waiting
jobs their place in line.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from application.job_events import JobEvent, JobEventBroker, final_event
from application.job_outcome import failure_error
from application.job_queue import JobQueue
from application.job_worker import JobWorker
from application.readiness import Readiness
from domain.job import Job, JobError, JobStatus

log = structlog.get_logger("service")

SHUTDOWN_WAIT_SECONDS = 60.0


class JobDispatcher:
    def __init__(
        self,
        queue: JobQueue,
        worker: JobWorker,
        events: JobEventBroker,
        readiness: Readiness,
        clock: Callable[[], datetime],
    ) -> None:
        self._queue = queue
        self._worker = worker
        self._events = events
        self._readiness = readiness
        self._clock = clock
        self._stops: dict[str, threading.Event] = {}
        self._log_context: dict[str, dict[str, object]] = {}
        self._task: asyncio.Task[None] | None = None
        self.running: Job | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="generation-worker")

    def cancel_all(self) -> None:
        """Cancel what waits at once, and ask what runs to stop within a step."""
        for job in self._queue.waiting:
            self.cancel(job)
        running = self.running
        # The worker marks a job final a moment before it clears `running`.
        if running is not None and not running.status.is_final:
            self.cancel(running)

    async def shutdown(self) -> None:
        """Cancel what waits, stop what runs, and leave no partial file."""
        self.cancel_all()
        running = self.running
        if running is not None and not running.status.is_final:
            # It stops within one step; the bound only guards against a wedged engine.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.wait(running), SHUTDOWN_WAIT_SECONDS)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._worker.shutdown)

    def enqueue(self, job: Job) -> int:
        """Put ``job`` in line; returns its position."""
        # The worker logs this job's lines with the submitting request's id.
        self._log_context[job.id] = structlog.contextvars.get_contextvars()
        return self._queue.add(job)

    def cancel(self, job: Job) -> None:
        """Cancel a job not yet final: at once if it waits, within a step if it runs."""
        if job.status is JobStatus.QUEUED:
            self._queue.remove_waiting(job)
            self._log_context.pop(job.id, None)
            job.cancel(self._clock())
            self._finish(job)
            self._publish_positions()
        else:
            self._stops[job.id].set()

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
        backend = self._readiness.backend
        if backend is None:
            job.fail(self._clock(), JobError("unavailable", self._readiness.reason))
            return
        stop = threading.Event()
        self._stops[job.id] = stop
        self.running = job
        try:
            await self._worker.run(job, backend, stop)
        finally:
            self.running = None
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
        self._events.publish(job.id, final_event(job))
        self._queue.mark_finished(job)

    def _publish_positions(self) -> None:
        for position, waiting in enumerate(self._queue.waiting, start=1):
            self._events.publish(waiting.id, JobEvent("queued", {"queue_position": position}))
