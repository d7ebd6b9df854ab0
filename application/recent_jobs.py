"""Jobs by id in the order they came: every unfinished one, and the newest finished ones."""

from __future__ import annotations

from collections import OrderedDict

from domain.errors import JobNotFound
from domain.job import Job


class RecentJobs:
    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def add(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._forget_old()

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"No job {job_id}.")
        return job

    def newest_first(self) -> list[Job]:
        return list(reversed(self._jobs.values()))

    def discard(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond the limit; unfinished ones always stay."""
        excess = len(self._jobs) - self._keep
        if excess <= 0:
            return
        for job_id, job in list(self._jobs.items()):
            if excess <= 0:
                return
            if job.status.is_final:
                del self._jobs[job_id]
                excess -= 1
