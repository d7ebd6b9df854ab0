"""Past jobs on disk: recorded as they start and end, rebuilt at startup, pruned by retention.

A job record is written when the job starts, so a job that was running when the
process died is found at the next start and shown as failed ("interrupted").
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from application.job_records import job_from_record, job_record
from application.ports import HistoryStore, ImageStore, ModelStatus
from domain.errors import ImageNotFound, InvalidTransition
from domain.job import Job, JobError, JobErrorType, JobStatus
from domain.retention import RetentionPolicy, expired_jobs

log = structlog.get_logger("history")

INTERRUPTED = JobError(JobErrorType.INTERRUPTED, "The service stopped while this job was running.")


class History:
    def __init__(self, store: HistoryStore, images: ImageStore, policy: RetentionPolicy) -> None:
        self._store = store
        self._images = images
        self._policy = policy
        self._jobs: dict[str, Job] = {}
        # The worker's retention pass and a `DELETE /images` run in different threads;
        # without this, both could remove the same job and one of them fail halfway.
        self._lock = threading.RLock()

    def recover(self, now: datetime, mark_interrupted: bool = True) -> list[Job]:
        """Load every record; jobs that never finished become failed ("interrupted").

        A second process (the retention command beside a running server) passes
        ``mark_interrupted=False``: the unfinished jobs may be running right now.
        """
        for record in self._store.read_all():
            job = job_from_record(record)
            if job is None:
                continue
            if not job.status.is_final and mark_interrupted:
                self._mark_interrupted(job, record, now)
            self._jobs[job.id] = job
        return self.jobs()

    def _mark_interrupted(self, job: Job, record: Mapping[str, Any], now: datetime) -> None:
        # Images are saved before the final record lists them: the names come from the job
        # itself, so files of a batch cut short go as well.
        names = {ref.name for ref in job.images} | set(job.image_names())
        job.fail(now, INTERRUPTED)
        job.images = []
        log.warning("job_interrupted", job_id=job.id)
        try:
            for name in names:
                self._images.delete(name)
            model, engine = record.get("model", {}), record.get("engine", {})
            self._store.write(job.id, {**record, **job_record(job, model, engine)})
        except OSError as error:
            # e.g. Windows refusing to replace a record another program holds open. The
            # start goes on; the record still says "running", so the next start retries.
            log.error(
                "job_interrupted_not_recorded",
                job_id=job.id,
                error_type=type(error).__name__,
                detail=str(error),
            )

    def record(self, job: Job, model: ModelStatus, engine: Mapping[str, str]) -> None:
        model_info = {"repo_id": model.repo_id, "revision": model.revision}
        with self._lock:
            self._jobs[job.id] = job
            self._store.write(job.id, job_record(job, model_info, engine))

    def jobs(self) -> list[Job]:
        """Newest first."""
        return sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)

    def with_images(self, limit: int, before: str | None = None) -> list[Job]:
        """Succeeded jobs newest first, after the job ``before`` when given."""
        finished = [job for job in self.jobs() if job.status is JobStatus.SUCCEEDED]
        if before is not None:
            cursor = self._jobs.get(before)
            if cursor is None:
                raise ImageNotFound(f"No image record {before}.")
            finished = [job for job in finished if job.created_at < cursor.created_at]
        return finished[:limit]

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ImageNotFound(f"No image record {job_id}.")
        return job

    def delete(self, job_id: str) -> Job:
        with self._lock:
            job = self.get(job_id)
            if not job.status.is_final:
                raise InvalidTransition(f"Job {job_id} is {job.status.value}; cancel it first.")
            for ref in job.images:
                self._images.delete(ref.name)
            self._store.delete(job_id)
            del self._jobs[job_id]
            return job

    def apply_retention(self, now: datetime) -> list[Job]:
        """Remove what the policy says is too old or too many; returns what went."""
        if not self._policy.enabled:
            return []
        with self._lock:
            removed = expired_jobs(self._jobs.values(), self._policy, now)
            for job in removed:
                self.delete(job.id)
        if removed:
            log.info(
                "retention_applied",
                removed_jobs=len(removed),
                removed_images=sum(len(job.images) for job in removed),
            )
        return removed
