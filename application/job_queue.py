"""Accepting and queueing: the checks a request passes, the waiting line, recent jobs by id.

A request is accepted only when a backend can serve it, the disk has room and the line
has room; it then becomes a `Job` with its seed fixed, is recorded on disk, waits here in
order, and stays listed (by id, newest last) after it ends, until newer jobs push the
oldest finished ones out. Jobs that waited when the service last stopped come back into
the line first (`restore`), before any new request is accepted.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from datetime import datetime
from statistics import fmean

import structlog

from application.job_events import JobEvent, JobEventBroker, final_event, snapshot_event
from application.readiness import Readiness
from domain.errors import ClientQueueFull, JobNotFound, QueueFull, ServiceUnavailable
from domain.generation_request import GenerationRequest
from domain.job import Job, JobStatus

log = structlog.get_logger("service")

RECENT_JOBS_KEPT = 200
PACE_FROM_LAST_JOBS = 10
GUESSED_SECONDS_PER_STEP = 1.0
"""Before any job finished in this run, and before the running one made a step."""
RETRY_AFTER_BOUNDS = (1, 3600)


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
        on_accepted: Callable[[Job], object] = lambda job: None,
        check_storage: Callable[[], None] = lambda: None,
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
        self._on_accepted = on_accepted
        """Records the new job on disk (without waiting for the write)."""
        self._check_storage = check_storage
        """Raises InsufficientStorage while the disk is below its floor."""
        self._step_seconds: deque[float] = deque(maxlen=PACE_FROM_LAST_JOBS)
        """Seconds per step of the last jobs that succeeded: the pace Retry-After uses."""
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
        self._check_storage()
        if len(self._waiting) >= self.capacity:
            raise QueueFull(
                f"The queue is full ({len(self._waiting)} jobs waiting). Try again shortly.",
                retry_after_seconds=self._retry_after(ahead=0),
            )
        if owner is not None and self.per_client is not None:
            places = [i for i, waiting in enumerate(self._waiting) if waiting.owner == owner]
            if len(places) >= self.per_client:
                raise ClientQueueFull(
                    f"You already have {len(places)} jobs waiting, as many as one client may "
                    "queue. Try again when one has started.",
                    retry_after_seconds=self._retry_after(ahead=places[0]),
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
        self._line_up(job)
        self._on_accepted(job)
        self._events.publish(job.id, self.snapshot(job))
        log.info(
            "job_queued",
            job_id=job.id,
            position=len(self._waiting),
            steps=request.num_inference_steps,
            images=request.num_images,
        )
        return job

    def restore(self, jobs: Iterable[Job]) -> None:
        """Queue again, in this order, jobs that waited when the service last stopped.

        All of them, even past the capacity (it may have been lowered since): accepted
        work is never dropped; new requests are refused until the line is short again.
        """
        restored = list(jobs)
        for job in restored:
            self._line_up(job)
        if not restored:
            return
        self.publish_positions()
        log.info("jobs_requeued", jobs=len(restored), job_ids=[job.id for job in restored])
        if len(self._waiting) > self.capacity:
            log.warning(
                "queue_over_capacity_after_restart",
                waiting=len(self._waiting),
                capacity=self.capacity,
            )

    def _line_up(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._finished[job.id] = asyncio.Event()
        self._waiting.append(job)
        self._forget_old()
        self._wakeup.set()

    # The waiting line -------------------------------------------------------

    @property
    def waiting(self) -> tuple[Job, ...]:
        return tuple(self._waiting)

    async def next_job(self) -> tuple[Job, dict[str, object]]:
        """The next job in line, and the log context of the request that submitted it.

        None is handed out once the service stops: the waiting jobs stay for the restart.
        """
        while not self._waiting or self.closed:
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

    def release_waiters(self) -> None:
        """At shutdown: whoever waits for a queued job stops waiting; the job stays queued
        (on disk too) and runs after the restart."""
        for job in self._waiting:
            finished = self._finished.get(job.id)
            if finished is not None:
                finished.set()

    # Ends and waiting for them ----------------------------------------------

    def finish(self, job: Job) -> None:
        """The job is final: tell its subscribers, and wake whoever waits for it."""
        if self.running is job:
            self.running = None
        if job.status is JobStatus.SUCCEEDED and job.duration_ms and job.total_steps:
            self._step_seconds.append(job.duration_ms / 1000 / job.total_steps)
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

    def _retry_after(self, ahead: int) -> int:
        low, high = RETRY_AFTER_BOUNDS
        return int(min(high, max(low, round(self._seconds_until_started(ahead)))))

    def _seconds_until_started(self, ahead: int) -> float:
        """When the job ``ahead`` places from the front of the line should start: what
        is left of the running job, then the steps of the jobs before it, at the pace of
        the last jobs (or of the running one, before any finished)."""
        now = self._clock()
        per_step = self._seconds_per_step(now)
        seconds = 0.0
        running = self.running
        if running is not None and not running.status.is_final:
            eta = running.eta_seconds(now)
            left = running.total_steps - running.step
            seconds += eta if eta is not None else left * per_step
        seconds += sum(job.total_steps for job in list(self._waiting)[:ahead]) * per_step
        return seconds

    def _seconds_per_step(self, now: datetime) -> float:
        if self._step_seconds:
            return fmean(self._step_seconds)
        running = self.running
        if running is not None and running.started_at is not None and running.step > 0:
            return (now - running.started_at).total_seconds() / running.step
        return GUESSED_SECONDS_PER_STEP

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond the limit; unfinished ones always stay."""
        excess = len(self._jobs) - self._keep_recent
        if excess <= 0:
            return
        for job_id, job in list(self._jobs.items()):
            if excess <= 0:
                return
            if job.status.is_final:
                del self._jobs[job_id]
                excess -= 1
