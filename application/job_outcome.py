"""How a job that did not succeed is described: in its record, and to a waiting caller."""

from __future__ import annotations

from datetime import datetime

from domain.errors import (
    GenerationCancelled,
    GenerationFailed,
    GenerationTimeout,
    ServiceUnavailable,
)
from domain.job import Job, JobError, JobStatus


def timeout_error(job: Job, now: datetime, device: str, timeout_seconds: float) -> JobError:
    """What the time went on: ``device`` is where the job ended, which a mid-job
    fallback (GPU to CPU) makes differ from where it started."""
    spent = (now - job.started_at).total_seconds() if job.started_at else timeout_seconds
    return JobError(
        "timeout",
        f"Generation stopped after {spent:.1f} s at step {job.step} of {job.total_steps} "
        f"on {device}: the time limit is {timeout_seconds:g} s. Try fewer steps, a smaller "
        f"size, a GPU, or a few-step model, or raise INFERENCE_TIMEOUT_SECONDS.",
    )


def failure_error(job: Job) -> JobError:
    return JobError(
        "generation_failed",
        f"Generation failed; the server log has the details for job {job.id}.",
    )


def raise_for_outcome(job: Job, shutting_down: bool = False) -> None:
    """Turn a job that did not succeed into the error a synchronous caller expects."""
    if job.status is JobStatus.SUCCEEDED:
        return
    message = job.error.message if job.error is not None else "The job did not finish."
    if job.status is JobStatus.CANCELLED and shutting_down:
        raise ServiceUnavailable(
            "The service is shutting down: the job was cancelled. Submit it again once the "
            "service is back."
        )
    if job.status is JobStatus.CANCELLED:
        raise GenerationCancelled("The job was cancelled.")
    if job.error is not None and job.error.type == "timeout":
        raise GenerationTimeout(message)
    if job.error is not None and job.error.type == "unavailable":
        raise ServiceUnavailable(message)
    raise GenerationFailed(message)
