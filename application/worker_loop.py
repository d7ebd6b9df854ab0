"""The worker loop: the one task that takes queued jobs in order and runs each to its end.

It survives anything one job does, and at shutdown it stops what runs and leaves no
partial file; what waits stays queued for the next start. It takes a job only while a
backend is attached, so jobs queued again at a restart wait for the model to load.
Running a job is `job_run.py`'s; cancelling is `cancellation.py`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog

from application.cancellation import Cancellation
from application.job_failures import failure_error
from application.job_queue import JobQueue
from application.job_run import JobRun
from application.readiness import Readiness
from domain.job import Job, JobError, JobErrorType

log = structlog.get_logger("service")

SHUTDOWN_WAIT_SECONDS = 60.0


class WorkerLoop:
    def __init__(
        self,
        queue: JobQueue,
        job_run: JobRun,
        cancellation: Cancellation,
        readiness: Readiness,
        clock: Callable[[], datetime],
        record: Callable[[Job], object] = lambda job: None,
        slot: int = 0,
    ) -> None:
        self._record = record
        """Records a job the worker itself ended (the job run records what it runs)."""
        self._queue = queue
        self._job_run = job_run
        self._cancellation = cancellation
        self._readiness = readiness
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._slot = slot
        """Which of the service's loops this is: loop N takes jobs only while the backend
        runs more than N at once."""
        self._current: Job | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name=f"generation-worker-{self._slot}")

    async def shutdown(self) -> None:
        """Stop what runs and leave no partial file; what waits stays queued."""
        self._cancellation.stop_running()
        running = self._current
        if running is not None and not running.status.is_final:
            # It stops within one step; the bound only guards against a wedged engine.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.wait(running), SHUTDOWN_WAIT_SECONDS)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._job_run.shutdown)

    async def _work(self) -> None:
        while True:
            await self._readiness.wait_for_slot(self._slot)
            job, log_context = await self._queue.next_job()
            self._current = job
            with structlog.contextvars.bound_contextvars(**log_context):
                try:
                    self._queue.publish_positions()
                    await self._run(job)
                except Exception as error:
                    # One job's trouble must not end the worker: every job behind it
                    # would wait forever, and this one would never reach a final state.
                    self._fail_unexpectedly(job, error)
                finally:
                    self._queue.finish(job)
                    self._current = None

    async def _run(self, job: Job) -> None:
        backend = self._readiness.backend
        if backend is None:
            reason = self._readiness.reason
            error = JobError(JobErrorType.UNAVAILABLE, reason.message, reason.remedies)
            job.fail(self._clock(), error)
            self._record(job)
            return
        stop = self._cancellation.starting(job)
        try:
            await self._job_run.run(job, backend, stop)
        finally:
            self._cancellation.ended(job)

    def _fail_unexpectedly(self, job: Job, error: Exception) -> None:
        if not job.status.is_final:
            job.fail(self._clock(), failure_error(job))
            self._record(job)
        log.error(
            "worker_loop_error",
            job_id=job.id,
            status=job.status.value,
            error_type=type(error).__name__,
            exc_info=error,
        )
