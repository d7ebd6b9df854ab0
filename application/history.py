"""Past and waiting jobs on disk: recorded from acceptance on, rebuilt at startup, pruned.

A job's record is written when it is accepted (queued), again when it starts and when it
ends, so nothing accepted is lost to a restart: at the next start the waiting jobs are
queued again, and a job that was running is found and shown as failed ("interrupted").
Every write goes through one writer thread (`record_writer.py`), in the order the
changes were made, so the event loop never waits on the disk and a record never goes
back to an older state; a write that fails (a full disk) is kept and retried. Jobs are
ordered by acceptance: the time, then a sequence number kept in the record, since jobs
accepted within one tick of the clock share a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

import structlog

from application.job_records import accepted_seq, job_from_record, job_record
from application.ports import HistoryStore, ImageStore, ModelStatus
from application.record_writer import RETRY_SECONDS, RecordWriter
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
    def __init__(
        self,
        store: HistoryStore,
        images: ImageStore,
        policy: RetentionPolicy,
        *,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._store = store
        self._images = images
        self._policy = policy
        # The event loop takes this lock, so it is held only over the maps below, never
        # across a file operation: those run under the writer's `serial` lock instead.
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._context: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        """Per job, the model and engine its records name, kept for its later records."""
        self._seq: dict[str, int] = {}
        """Per job, its place in the order of acceptance: the clock alone has ties."""
        self._next_seq = 0
        self._writer = RecordWriter(store, self._is_known, retry_seconds)

    def recover(self, now: datetime, mark_interrupted: bool = True) -> list[Job]:
        """Load every record; a job that was running becomes failed ("interrupted").

        Waiting jobs stay queued (see ``waiting``). A second process (the retention
        command beside a running server) passes ``mark_interrupted=False``: the
        unfinished jobs may be running right now.
        """
        with self._writer.serial:
            for record in self._store.read_all():
                job = job_from_record(record)
                if job is None:
                    log.warning("history_record_unreadable", job_id=str(record.get("job_id"))[:80])
                    continue
                if job.status is JobStatus.RUNNING and mark_interrupted:
                    self._mark_interrupted(job, record, now)
                model, engine = record.get("model"), record.get("engine")
                seq = accepted_seq(record)
                with self._lock:
                    self._jobs[job.id] = job
                    self._context[job.id] = (
                        model if isinstance(model, dict) else {},
                        engine if isinstance(engine, dict) else {},
                    )
                    if seq is not None:
                        self._seq[job.id] = seq
                        self._next_seq = max(self._next_seq, seq + 1)
        return self.jobs()

    def waiting(self) -> list[Job]:
        """Jobs accepted and not yet started, in the order they were accepted."""
        return [job for job in reversed(self.jobs()) if job.status is JobStatus.QUEUED]

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
        self._writer.write(job.id, self._snapshot(job, model, engine))

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
        return self._writer.submit(self._writer.write, job.id, self._snapshot(job, model, engine))

    def record_accepted(self, job: Job) -> Future[None]:
        """Queue the first write of a job just accepted. Unlike ``record_soon`` the future
        fails with the store's error (OSError) when the record cannot be written: the
        job is then forgotten here, for the caller to refuse it."""
        return self._writer.submit(self._write_accepted, job.id, self._snapshot(job, None, None))

    def _write_accepted(self, job_id: str, record: dict[str, Any]) -> None:
        try:
            self._writer.write_or_raise(job_id, record)
        except Exception:
            self.forget(job_id)
            raise

    def in_order(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``work`` in the writer thread, after every write queued before it."""
        return self._writer.submit(work, *args)

    def close(self) -> None:
        """Finish the writes queued so far, retry the failed ones (at shutdown)."""
        self._writer.close()

    def forget(self, job_id: str) -> None:
        """Drop ``job_id`` from memory; a record write still queued for it is skipped."""
        with self._lock:
            self._jobs.pop(job_id, None)
            self._context.pop(job_id, None)
            self._seq.pop(job_id, None)
        self._writer.forget(job_id)

    def _is_known(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._jobs

    def _snapshot(
        self, job: Job, model: ModelStatus | None, engine: Mapping[str, str] | None
    ) -> dict[str, Any]:
        with self._lock:
            self._jobs[job.id] = job
            seq = self._seq.get(job.id)
            if seq is None:
                seq = self._seq[job.id] = self._next_seq
                self._next_seq += 1
            known_model, known_engine = self._context.get(job.id, ({}, {}))
            if model is not None:
                known_model = {"repo_id": model.repo_id, "revision": model.revision}
            if engine is not None:
                known_engine = dict(engine)
            self._context[job.id] = (known_model, known_engine)
        return job_record(job, known_model, known_engine, accepted_seq=seq)

    def _order(self, job: Job) -> tuple[datetime, int, str]:
        """Acceptance order; a record from before the sequence numbers comes first of
        the jobs accepted at the same moment (callers hold the lock)."""
        return (job.created_at, self._seq.get(job.id, -1), job.id)

    def jobs(self) -> list[Job]:
        """Newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=self._order, reverse=True)

    def with_images(
        self,
        limit: int,
        before: str | None = None,
        visible: Callable[[Job], bool] = lambda job: True,
    ) -> list[Job]:
        """Succeeded jobs newest first, after the job ``before`` when given; only those
        ``visible`` (to the client asking) count, so every page is full."""
        with self._lock:
            newest_first = sorted(self._jobs.values(), key=self._order, reverse=True)
            cursor = self._jobs.get(before) if before is not None else None
            cursor_place = self._order(cursor) if cursor is not None else None
            places = {job.id: self._order(job) for job in newest_first}
        if before is not None and (cursor is None or not visible(cursor)):
            raise ImageNotFound(f"No image record {before}.")
        finished = [
            job
            for job in newest_first
            if job.status is JobStatus.SUCCEEDED
            and visible(job)
            and (cursor_place is None or places[job.id] < cursor_place)
        ]
        return finished[:limit]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ImageNotFound(f"No image record {job_id}.")
        return job

    def delete(self, job_id: str) -> Job:
        """Remove a final job's images and record (in the writer thread, or with none)."""
        with self._writer.serial:
            job = self.get(job_id)
            if not job.status.is_final:
                raise InvalidTransition(f"Job {job_id} is {job.status.value}; cancel it first.")
            for ref in job.images:
                self._images.delete(ref.name)
            self._store.delete(job_id)
            self.forget(job_id)
            return job

    def apply_retention(self, now: datetime) -> list[Job]:
        """Remove what the policy says is too old or too many; returns what went."""
        if not self._policy.enabled:
            return []
        with self._writer.serial:
            with self._lock:
                known = list(self._jobs.values())
            removed = expired_jobs(known, self._policy, now)
            for job in removed:
                self.delete(job.id)
        if removed:
            log.info(
                "retention_applied",
                removed_jobs=len(removed),
                removed_images=sum(len(job.images) for job in removed),
            )
        return removed
