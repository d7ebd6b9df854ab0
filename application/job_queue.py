"""Accepting and queueing: the checks a request passes, the waiting line, recent jobs by id.

A request is accepted only when a backend can serve it, the disk has room and the line
has room; it then becomes a `Job` with its seed fixed, is recorded on disk, waits here in
order, and stays listed (by id, newest last) after it ends, until newer jobs push the
oldest finished ones out. Jobs that waited when the service last stopped come back into
the line first (`restore`), before any new request is accepted.

A job runs only once its acceptance record is on disk; one whose record cannot be
written is taken back and refused (`accept_recorded`), never run or kept in memory only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime

import structlog

from application.acceptance_records import PendingRecords, refusal
from application.job_events import JobEvent, JobEventBroker, final_event, snapshot_event
from application.queue_pace import QueuePace
from application.readiness import Readiness
from application.recent_jobs import RecentJobs
from domain.errors import ClientQueueFull, DomainError, QueueFull, ServiceUnavailable
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
        on_accepted: Callable[[Job], Future[None] | None] = lambda job: None,
        check_storage: Callable[[], None] = lambda: None,
        refuse: Callable[[Exception], DomainError] = refusal,
    ) -> None:
        self.capacity = capacity
        self.per_client = per_client
        """How many waiting jobs one owner may have; None: no limit beyond the capacity."""
        self._readiness = readiness
        self._events = events
        self._clock = clock
        self._new_job_id = new_job_id
        self._new_seed = new_seed
        self._on_accepted = on_accepted
        """Starts writing the new job's record; the future fails if it cannot be written."""
        self._check_storage = check_storage
        self._refuse = refuse
        """The error for a job whose acceptance record could not be written."""
        """Raises InsufficientStorage while the disk is below its floor."""
        self._pace = QueuePace(clock)
        self._jobs = RecentJobs(keep_recent)
        self._waiting: deque[Job] = deque()
        self._finished: dict[str, asyncio.Event] = {}
        self._recording = PendingRecords(on_failed=self._take_back)
        self._log_context: dict[str, dict[str, object]] = {}
        self._wakeup = asyncio.Event()
        self.closed = False
        self._running: list[Job] = []
        """The jobs taken from the line and not yet finished, oldest first."""

    # Accepting --------------------------------------------------------------

    def accept(self, request: GenerationRequest, owner: str | None = None) -> Job:
        """Queue a request as a new job; raises at once if it cannot be served."""
        if self.closed:
            raise ServiceUnavailable("The service is shutting down.")
        self._readiness.check(request)
        self._check_storage()
        self.check_room(owner)
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
        recording = self._on_accepted(job)
        if recording is not None:
            self._recording.add(job, recording)
        self._events.publish(job.id, self.snapshot(job))
        log.info(
            "job_queued",
            job_id=job.id,
            position=len(self._waiting),
            mode=request.mode.value,
            # The steps that run: an edit's int(steps * strength), as the ETA counts them.
            steps=request.denoising_steps,
            images=request.num_images,
        )
        return job

    def check_room(self, owner: str | None = None) -> None:
        """Raises QueueFull or ClientQueueFull when ``accept`` would, accepting nothing: a
        request checks before its costly part (decoding and storing its input images)."""
        if len(self._waiting) >= self.capacity:
            raise QueueFull(
                f"The queue is full ({len(self._waiting)} jobs waiting). Try again shortly.",
                retry_after_seconds=self._pace.retry_after(self.running, ()),
            )
        if owner is not None and self.per_client is not None:
            places = [i for i, waiting in enumerate(self._waiting) if waiting.owner == owner]
            if len(places) >= self.per_client:
                raise ClientQueueFull(
                    f"You already have {len(places)} jobs waiting, as many as one client may "
                    "queue. Try again when one has started.",
                    retry_after_seconds=self._pace.retry_after(
                        self.running, list(self._waiting)[: places[0]]
                    ),
                )

    async def accept_recorded(self, request: GenerationRequest, owner: str | None = None) -> Job:
        """``accept``, returned once the job's record is on disk, so a kill right after the
        answer does not lose the job. One whose record cannot be written is taken back:
        InsufficientStorage for a full disk, ServiceUnavailable for another failure."""
        job = self.accept(request, owner)
        await self.recorded(job)
        return job

    async def recorded(self, job: Job) -> None:
        """Returns once the record of a job just accepted is on disk; raises and takes the
        job back when it cannot be written."""
        error = await self._recording.wait(job)
        if error is not None:
            raise self._refuse(error) from error

    def _take_back(self, job: Job, error: Exception) -> None:
        if job in self._waiting:
            self._waiting.remove(job)
            self.publish_positions()
        self._jobs.discard(job.id)
        self._log_context.pop(job.id, None)
        finished = self._finished.pop(job.id, None)
        if finished is not None:
            finished.set()
        log.error(
            "job_refused_not_recorded",
            job_id=job.id,
            error_type=type(error).__name__,
            detail=str(error),
        )

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
        self._jobs.add(job)
        self._finished[job.id] = asyncio.Event()
        self._waiting.append(job)
        self._wakeup.set()

    # The waiting line -------------------------------------------------------

    @property
    def waiting(self) -> tuple[Job, ...]:
        return tuple(self._waiting)

    @property
    def running(self) -> Job | None:
        """The oldest job running: the one of a single engine, the next to end of several."""
        return self._running[0] if self._running else None

    @property
    def running_jobs(self) -> tuple[Job, ...]:
        return tuple(self._running)

    async def next_job(self) -> tuple[Job, dict[str, object]]:
        """The next job in line, and the log context of the request that submitted it.

        None is handed out once the service stops: the waiting jobs stay for the restart.
        """
        while True:
            while not self._waiting or self.closed:
                self._wakeup.clear()
                await self._wakeup.wait()
            if not self._recording.pending(self._waiting[0]):
                break
            # Not before its record is on disk: a job refused for want of disk never runs.
            await self._recording.wait(self._waiting[0])
        job = self._waiting.popleft()
        self._running.append(job)
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
        if job in self._running:
            self._running.remove(job)
        self._pace.job_finished(job)
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
        return self._jobs.get(job_id)

    def recent(self) -> list[Job]:
        """Newest first."""
        return self._jobs.newest_first()

    def remember(self, job: Job) -> None:
        """Add a finished job from an earlier run, so `/jobs` still knows it."""
        self._jobs.add(job)

    def forget(self, jobs: list[Job]) -> None:
        """History removed these jobs: their image URLs are gone, so are the jobs."""
        for job in jobs:
            self._jobs.discard(job.id)
