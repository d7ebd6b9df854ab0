"""The jobs the service knows: a bounded waiting line, and recent jobs by id."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from domain.errors import JobNotFound
from domain.job import Job, JobStatus

RECENT_JOBS_KEPT = 200


class JobQueue:
    def __init__(self, capacity: int, keep_recent: int = RECENT_JOBS_KEPT) -> None:
        self.capacity = capacity
        self._keep_recent = keep_recent
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: deque[Job] = deque()
        self._finished: dict[str, asyncio.Event] = {}
        self._wakeup = asyncio.Event()

    @property
    def is_full(self) -> bool:
        return len(self._waiting) >= self.capacity

    @property
    def waiting(self) -> tuple[Job, ...]:
        return tuple(self._waiting)

    def add(self, job: Job) -> int:
        """Put a new job at the end of the line; returns its position."""
        self._jobs[job.id] = job
        self._finished[job.id] = asyncio.Event()
        self._waiting.append(job)
        self._forget_old()
        self._wakeup.set()
        return len(self._waiting)

    def remember(self, job: Job) -> None:
        """Add a finished job from an earlier run, so `/jobs` still knows it."""
        self._jobs[job.id] = job
        self._forget_old()

    def forget(self, job_id: str) -> None:
        """Drop a finished job from the list; anyone still waiting on it is woken as usual."""
        self._jobs.pop(job_id, None)

    def remove_waiting(self, job: Job) -> None:
        self._waiting.remove(job)

    async def next_job(self) -> Job:
        while not self._waiting:
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._waiting.popleft()

    def mark_finished(self, job: Job) -> None:
        finished = self._finished.pop(job.id, None)
        if finished is not None:
            finished.set()

    async def wait(self, job: Job) -> None:
        finished = self._finished.get(job.id)
        if finished is not None:
            await finished.wait()

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"No job {job_id}.")
        return job

    def recent(self) -> list[Job]:
        """Newest first."""
        return list(reversed(self._jobs.values()))

    def position(self, job: Job) -> int | None:
        """1 for the next job to run; None once it runs or ended."""
        if job.status is not JobStatus.QUEUED:
            return None
        return self._waiting.index(job) + 1

    def _forget_old(self) -> None:
        while len(self._jobs) > self._keep_recent:
            oldest = next(iter(self._jobs.values()))
            if not oldest.status.is_final:
                return
            del self._jobs[oldest.id]
