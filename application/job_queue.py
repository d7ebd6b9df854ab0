"""Accepting and queueing: the checks a request passes, the waiting line, recent jobs by id.

A request is accepted only when a backend can serve it and the line has room; it then
becomes a `Job` with its seed fixed, waits here in order, and stays listed (by id,
newest last) after it ends, until newer jobs push the oldest finished ones out.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime

import structlog

from application.job_events import JobEvent, JobEventBroker, final_event, snapshot_event
from application.readiness import Readiness
from domain.errors import ClientQueueFull, JobNotFound, QueueFull, ServiceUnavailable
from domain.generation_request import GenerationRequest
from domain.job import Job, JobStatus

log = structlog.get_logger("service")

RECENT_JOBS_KEPT = 200


class JobQueue:
    def __init__(
        self,
        readiness: Readiness,
        events: JobEventBroker,
        capacity: int,
        *,
        clock: Callable[[], datetime],
        new_job_id: Callable[[], str],
        new_seed: Callable[[], int],
        keep_recent: int = RECENT_JOBS_KEPT,
        per_client: int | None = None,
    ) -> None:
        self.capacity = capacity
        self.per_client = per_client
        """How many waiting jobs one owner may have; None: no limit beyond the capacity."""
        self._readiness = readiness
        self._events = events
        self._clock = clock
        self._new_job_id = new_job_id
        self._new_seed = new_seed
        self._keep_recent = keep_recent
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: deque[Job] = deque()
        self._finished: dict[str, asyncio.Event] = {}
        self._log_context: dict[str, dict[str, object]] = {}
        self._wakeup = asyncio.Event()
        self.closed = False
        self.running: Job | None = None
        """The job taken from the line and not yet finished."""

    # Accepting --------------------------------------------------------------

    def accept(self, request: GenerationRequest, owner: str | None = None) -> Job:
        """Queue a request as a new job; raises at once if it cannot be served."""
        if self.closed:
            raise ServiceUnavailable("The service is shutting down.")
        self._readiness.check(request)
        if len(self._waiting) >= self.capacity:
            raise QueueFull(
                f"The queue is full ({self.capacity} jobs waiting). Try again shortly.",
                retry_after_seconds=max(1, round(self._seconds_until_a_slot())),
            )
        if owner is not None and self.per_client is not None:
            mine = sum(1 for waiting in self._waiting if waiting.owner == owner)
            if mine >= self.per_client:
                raise ClientQueueFull(
                    f"You already have {mine} jobs waiting, as many as one client may "
                    "queue. Try again when one has started.",
                    retry_after_seconds=max(1, round(self._seconds_until_a_slot())),
                )
        seed = request.seed if request.seed is not None else self._new_seed()
        job = Job(
            id=self._new_job_id(),
            request=request.with_seed(seed),
            seed=seed,
            created_at=self._clock(),
            owner=owner,
        )
        # The worker logs this job's lines with the submitting request's id.
        self._log_context[job.id] = structlog.contextvars.get_contextvars()
        self._jobs[job.id] = job
        self._finished[job.id] = asyncio.Event()
        self._waiting.append(job)
        self._forget_old()
        self._wakeup.set()
        self._events.publish(job.id, self.snapshot(job))
        log.info(
            "job_queued",
            job_id=job.id,
            position=len(self._waiting),
            steps=request.num_inference_steps,
            images=request.num_images,
        )
        return job

    # The waiting line -------------------------------------------------------

    @property
    def waiting(self) -> tuple[Job, ...]:
        return tuple(self._waiting)

    async def next_job(self) -> tuple[Job, dict[str, object]]:
        """The next job in line, and the log context of the request that submitted it."""
        while not self._waiting:
            self._wakeup.clear()
            await self._wakeup.wait()
        job = self._waiting.popleft()
        self.running = job
        return job, self._log_context.pop(job.id, {})

    def withdraw(self, job: Job) -> None:
        """Take a waiting job out of the line (it was cancelled)."""
        self._waiting.remove(job)
        self._log_context.pop(job.id, None)

    def position(self, job: Job) -> int | None:
        """1 for the next job to run; None once it runs or ended."""
        if job.status is not JobStatus.QUEUED:
            return None
        return self._waiting.index(job) + 1

    def publish_positions(self) -> None:
        for position, waiting in enumerate(self._waiting, start=1):
            self._events.publish(waiting.id, JobEvent("queued", {"queue_position": position}))

    # Ends and waiting for them ----------------------------------------------

    def finish(self, job: Job) -> None:
        """The job is final: tell its subscribers, and wake whoever waits for it."""
        if self.running is job:
            self.running = None
        self._events.publish(job.id, final_event(job))
        finished = self._finished.pop(job.id, None)
        if finished is not None:
            finished.set()

    async def wait(self, job: Job) -> None:
        finished = self._finished.get(job.id)
        if finished is not None:
            await finished.wait()

    def snapshot(self, job: Job) -> JobEvent:
        return snapshot_event(job, self.position(job), self._clock())

    # Jobs by id -------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"No job {job_id}.")
        return job

    def recent(self) -> list[Job]:
        """Newest first."""
        return list(reversed(self._jobs.values()))

    def remember(self, job: Job) -> None:
        """Add a finished job from an earlier run, so `/jobs` still knows it."""
        self._jobs[job.id] = job
        self._forget_old()

    def forget(self, jobs: list[Job]) -> None:
        """History removed these jobs: their image URLs are gone, so are the jobs."""
        for job in jobs:
            self._jobs.pop(job.id, None)

    def _seconds_until_a_slot(self) -> float:
        """When the running job should end, at its pace so far; a guess before its pace."""
        running = self.running
        eta = running.eta_seconds(self._clock()) if running is not None else None
        return eta or 5.0

    def _forget_old(self) -> None:
        while len(self._jobs) > self._keep_recent:
            oldest = next(iter(self._jobs.values()))
            if not oldest.status.is_final:
                return
            del self._jobs[oldest.id]
