"""How long until a place in the line starts: the pace of recent jobs, for Retry-After."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from statistics import fmean

from domain.job import Job, JobStatus

PACE_FROM_LAST_JOBS = 10
GUESSED_SECONDS_PER_STEP = 1.0
"""Before any job finished in this run, and before the running one made a step."""
RETRY_AFTER_BOUNDS = (1, 3600)


class QueuePace:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._step_seconds: deque[float] = deque(maxlen=PACE_FROM_LAST_JOBS)
        """Seconds per step of the last jobs that succeeded."""

    def job_finished(self, job: Job) -> None:
        if job.status is JobStatus.SUCCEEDED and job.duration_ms and job.total_steps:
            self._step_seconds.append(job.duration_ms / 1000 / job.total_steps)

    def retry_after(self, running: Job | None, ahead: Sequence[Job]) -> int:
        """Whole seconds, within bounds, until a job behind ``running`` and ``ahead`` starts."""
        low, high = RETRY_AFTER_BOUNDS
        return int(min(high, max(low, round(self._seconds_until_started(running, ahead)))))

    def _seconds_until_started(self, running: Job | None, ahead: Sequence[Job]) -> float:
        """What is left of the running job, then the steps of the jobs ahead, at the pace
        of the last jobs (or of the running one, before any finished)."""
        now = self._clock()
        per_step = self._seconds_per_step(running, now)
        seconds = 0.0
        if running is not None and not running.status.is_final:
            eta = running.eta_seconds(now)
            left = running.total_steps - running.step
            seconds += eta if eta is not None else left * per_step
        seconds += sum(job.total_steps for job in ahead) * per_step
        return seconds

    def _seconds_per_step(self, running: Job | None, now: datetime) -> float:
        if self._step_seconds:
            return fmean(self._step_seconds)
        if running is not None and running.started_at is not None and running.step > 0:
            return (now - running.started_at).total_seconds() / running.step
        return GUESSED_SECONDS_PER_STEP
