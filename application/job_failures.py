"""How a job that did not make its images failed, as the error its record and answers carry.

Facts only, with the remedies a user has; `job_run.py` decides which applies.
"""

from __future__ import annotations

from datetime import datetime

from application.engine_thread import ImagesNotStored
from application.free_space import is_disk_full
from domain.errors import GenerationInterrupted, Remedy, UploadNotFound
from domain.job import Job, JobError, JobErrorType


def timeout_error(job: Job, now: datetime, device: str, timeout_seconds: float) -> JobError:
    """What the time went on: ``device`` is where the job ended, which a mid-job
    fallback (GPU to CPU) makes differ from where it started."""
    spent = (now - job.started_at).total_seconds() if job.started_at else timeout_seconds
    return JobError(
        JobErrorType.TIMEOUT,
        f"Generation stopped after {spent:.1f} s at step {job.step} of {job.total_steps} "
        f"on {device}: the time limit is {timeout_seconds:g} s.",
        (Remedy.RAISE_TIMEOUT,),
    )


def storage_error(error: ImagesNotStored, free_mb: int | None) -> JobError:
    if is_disk_full(error.cause):
        free = "unknown" if free_mb is None else f"{free_mb} MB"
        return JobError(
            JobErrorType.INSUFFICIENT_STORAGE,
            f"No space left in {error.folder} to save the images ({free} free); "
            "none of them was kept.",
            (Remedy.FREE_DISK_SPACE,),
        )
    reason = getattr(error.cause, "strerror", None) or type(error.cause).__name__
    return JobError(
        JobErrorType.STORAGE_FAILED,
        f"The images could not be saved in {error.folder} ({reason}); none of them was kept.",
    )


def input_missing_error(error: UploadNotFound) -> JobError:
    return JobError(
        JobErrorType.INPUT_MISSING,
        f"An input image of this job was removed after the job was accepted ({error.message}).",
    )


def failure_error(job: Job) -> JobError:
    return JobError(
        JobErrorType.GENERATION_FAILED,
        f"Generation failed; the server log has the details for job {job.id}.",
    )


def interrupted_error(error: GenerationInterrupted) -> JobError:
    return JobError(JobErrorType.INTERRUPTED, error.message, (Remedy.SUBMIT_AGAIN,))
