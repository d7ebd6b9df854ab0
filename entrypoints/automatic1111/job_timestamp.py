"""AUTOMATIC1111's `job_timestamp`: when a job started, in local time, as digits."""

from __future__ import annotations

from domain.job import Job


def job_timestamp(job: Job) -> str:
    """``%Y%m%d%H%M%S`` of the job's start (of its acceptance while it waits), local time
    as A1111 writes it."""
    moment = job.started_at or job.created_at
    return moment.astimezone().strftime("%Y%m%d%H%M%S")
