"""Cancelling: the one place that decides what "cancel" means in each state of a job.

- queued: it leaves the line at once and ends as cancelled (its record too); the jobs
  behind it move up;
- running: its stop flag is set, and the engine stops within a step (the job run then
  ends it as cancelled, as timed out when the deadline set the flag, or as interrupted
  when the service stops);
- final: nothing to cancel, which is an error for a caller who asked (409).

Stopping the service is not a cancel: the running job is stopped, and the waiting ones
stay queued, on disk too, to run after the restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from application.job_queue import JobQueue
from domain.errors import InvalidTransition
from domain.job import Job, JobStatus

log = structlog.get_logger("service")


class Cancellation:
    def __init__(
        self,
        queue: JobQueue,
        clock: Callable[[], datetime],
        record: Callable[[Job], object] = lambda job: None,
    ) -> None:
        self._queue = queue
        self._clock = clock
        self._record = record
        self._stops: dict[str, threading.Event] = {}

    def starting(self, job: Job) -> threading.Event:
        """``job`` is about to run: its stop flag, which the engine thread polls each step."""
        return self._stops.setdefault(job.id, threading.Event())

    def ended(self, job: Job) -> None:
        """``job`` no longer runs: nothing can stop it any more."""
        self._stops.pop(job.id, None)

    def cancel(self, job: Job) -> None:
        """Cancel ``job`` as its state allows; raises InvalidTransition once it is final."""
        if job.status.is_final:
            raise InvalidTransition(f"Job {job.id} is already {job.status.value}.")
        if job.status is JobStatus.QUEUED:
            self._queue.withdraw(job)
            job.cancel(self._clock())
            self._record(job)
            self._queue.finish(job)
            self._queue.publish_positions()
            return
        stop = self._stops.get(job.id)
        if stop is not None:
            stop.set()

    def stop_requested(self, job: Job) -> bool:
        """Whether ``job`` runs with its stop flag set: it ends within a step."""
        stop = self._stops.get(job.id)
        return stop is not None and stop.is_set()

    def abandon(self, job: Job) -> None:
        """The waiting client went away: a queued job is dropped, a running one finishes."""
        if job.status is JobStatus.QUEUED:
            self.cancel(job)
            log.info("job_abandoned", job_id=job.id)

    def stop_running(self) -> None:
        """Ask what runs to stop within a step (the service stops); what waits stays."""
        for running in self._queue.running_jobs:
            # A job is marked final a moment before it stops counting as running.
            if not running.status.is_final:
                self.cancel(running)
