"""Past and waiting jobs on disk: recorded from acceptance on, rebuilt at startup, pruned.

A job's record is written when it is accepted (queued), again when it starts and when it
ends, so nothing accepted is lost to a restart: at the next start the waiting jobs are
queued again, and a job that was running is found and shown as failed ("interrupted").
Every write goes through one writer thread, in the order the changes were made, so the
event loop never waits on the disk and a record never goes back to an older state. A
write that fails (a full disk) is kept and retried before the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import structlog

from application.job_records import job_from_record, job_record
from application.ports import HistoryStore, ImageStore, ModelStatus
from domain.errors import ImageNotFound, InvalidTransition, Remedy
from domain.job import Job, JobError, JobErrorType, JobStatus
from domain.retention import RetentionPolicy, expired_jobs

log = structlog.get_logger("history")

INTERRUPTED = JobError(
    JobErrorType.INTERRUPTED,
    "The service stopped while this job was running.",
    (Remedy.SUBMIT_AGAIN,),
)

T = TypeVar("T")


class History:
    def __init__(self, store: HistoryStore, images: ImageStore, policy: RetentionPolicy) -> None:
        self._store = store
        self._images = images
        self._policy = policy
        self._jobs: dict[str, Job] = {}
        # The worker's retention pass and a `DELETE /images` run in different threads;
        # without this, both could remove the same job and one of them fail halfway.
        self._lock = threading.RLock()
        # One thread, so records reach the disk in the order their changes were made;
        # made when first needed, so a history that is closed and used again still works.
        self._writer: ThreadPoolExecutor | None = None
        self._unwritten: dict[str, dict[str, Any]] = {}
        """Records whose last write failed, by job id: written again before the next."""
        self._context: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        """Per job, the model and engine its records name, kept for its later records."""

    def recover(self, now: datetime, mark_interrupted: bool = True) -> list[Job]:
        """Load every record; a job that was running becomes failed ("interrupted").

        Waiting jobs stay queued (see ``waiting``). A second process (the retention
        command beside a running server) passes ``mark_interrupted=False``: the
        unfinished jobs may be running right now.
        """
        for record in self._store.read_all():
            job = job_from_record(record)
            if job is None:
                log.warning("history_record_unreadable", job_id=str(record.get("job_id"))[:80])
                continue
            if job.status is JobStatus.RUNNING and mark_interrupted:
                self._mark_interrupted(job, record, now)
            self._jobs[job.id] = job
            model, engine = record.get("model"), record.get("engine")
            self._context[job.id] = (
                model if isinstance(model, dict) else {},
                engine if isinstance(engine, dict) else {},
            )
        return self.jobs()

    def waiting(self) -> list[Job]:
        """Jobs accepted and not yet started, in the order they were accepted."""
        queued = [job for job in self._jobs.values() if job.status is JobStatus.QUEUED]
        return sorted(queued, key=lambda job: (job.created_at, job.id))

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

    def record(
        self,
        job: Job,
        model: ModelStatus | None = None,
        engine: Mapping[str, str] | None = None,
    ) -> None:
        """Write ``job``'s record now, in this thread (tests, and code with no loop)."""
        self._write(job.id, self._snapshot(job, model, engine))

    def record_soon(
        self,
        job: Job,
        model: ModelStatus | None = None,
        engine: Mapping[str, str] | None = None,
    ) -> Future[None]:
        """Queue a write of ``job``'s record as it is now; the writer thread keeps the order.

        Without ``model`` and ``engine`` the record keeps those it named before (none for
        a job just accepted). Never fails: a failed write is logged and retried later.
        """
        return self.in_order(self._write, job.id, self._snapshot(job, model, engine))

    def in_order(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``work`` in the writer thread, after every write queued before it."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        return self._writer.submit(work, *args)

    def close(self) -> None:
        """Finish the writes queued so far (at shutdown)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _snapshot(
        self, job: Job, model: ModelStatus | None, engine: Mapping[str, str] | None
    ) -> dict[str, Any]:
        with self._lock:
            self._jobs[job.id] = job
            known_model, known_engine = self._context.get(job.id, ({}, {}))
            if model is not None:
                known_model = {"repo_id": model.repo_id, "revision": model.revision}
            if engine is not None:
                known_engine = dict(engine)
            self._context[job.id] = (known_model, known_engine)
        return job_record(job, known_model, known_engine)

    def _write(self, job_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._unwritten.pop(job_id, None)
            for pending_id, pending in list(self._unwritten.items()):
                if self._try_write(pending_id, pending):
                    log.info("history_write_retried", job_id=pending_id)
            self._try_write(job_id, record)

    def _try_write(self, job_id: str, record: dict[str, Any]) -> bool:
        if job_id not in self._jobs:
            self._unwritten.pop(job_id, None)
            return True  # deleted meanwhile: its record must not come back
        try:
            self._store.write(job_id, record)
        except Exception as error:
            # A full disk must not lose the job: it lives on in memory, and this record
            # is written again before the next one.
            first = job_id not in self._unwritten
            self._unwritten[job_id] = record
            if first:
                log.error(
                    "history_write_failed",
                    job_id=job_id,
                    status=record.get("status"),
                    error_type=type(error).__name__,
                    detail=str(error),
                )
            return False
        self._unwritten.pop(job_id, None)
        return True

    def jobs(self) -> list[Job]:
        """Newest first."""
        return sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)

    def with_images(
        self,
        limit: int,
        before: str | None = None,
        visible: Callable[[Job], bool] = lambda job: True,
    ) -> list[Job]:
        """Succeeded jobs newest first, after the job ``before`` when given; only those
        ``visible`` (to the client asking) count, so every page is full."""
        finished = [
            job for job in self.jobs() if job.status is JobStatus.SUCCEEDED and visible(job)
        ]
        if before is not None:
            cursor = self._jobs.get(before)
            if cursor is None or not visible(cursor):
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
            self._context.pop(job_id, None)
            self._unwritten.pop(job_id, None)
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
