"""What a caller who waited for a job is told when it did not succeed."""

from __future__ import annotations

from domain.errors import (
    DomainError,
    GenerationCancelled,
    GenerationFailed,
    GenerationTimeout,
    InsufficientStorage,
    ServiceUnavailable,
)
from domain.job import Job, JobErrorType, JobStatus


def outcome_error(job: Job, shutting_down: bool) -> DomainError | None:
    """None when ``job`` succeeded; else the error for its state (a stop is not a failure)."""
    if job.status is JobStatus.SUCCEEDED:
        return None
    if job.status is JobStatus.QUEUED:
        return ServiceUnavailable(
            f"The service is shutting down: job {job.id} stays queued and runs when the "
            "service is back."
        )
    if job.status is JobStatus.CANCELLED and shutting_down:
        return ServiceUnavailable(
            "The service is shutting down: the job was cancelled. Submit it again once the "
            "service is back."
        )
    if job.status is JobStatus.CANCELLED:
        return GenerationCancelled("The job was cancelled.")
    error = job.error
    if error is None:
        return GenerationFailed("The job did not finish.")
    if error.type is JobErrorType.TIMEOUT:
        return GenerationTimeout(error.message, error.remedies)
    if error.type in (JobErrorType.UNAVAILABLE, JobErrorType.INTERRUPTED):
        return ServiceUnavailable(error.message, remedies=error.remedies)
    if error.type is JobErrorType.INSUFFICIENT_STORAGE:
        return InsufficientStorage(error.message, error.remedies)
    return GenerationFailed(error.message, error.remedies)
