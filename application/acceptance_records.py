"""Acceptance records on their way to disk: a job runs, and its submitter gets an answer,
only once its record is there; one that cannot be written is refused, not run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from application.free_space import FreeSpace, is_disk_full
from domain.errors import DomainError, InsufficientStorage, Remedy, ServiceUnavailable
from domain.job import Job


class PendingRecords:
    def __init__(self, on_failed: Callable[[Job, Exception], None]) -> None:
        self._on_failed = on_failed
        """Takes the job back; called once per failed record, whoever waits first."""
        self._writes: dict[str, Future[None]] = {}

    def add(self, job: Job, write: Future[None]) -> None:
        self._writes[job.id] = write

    def pending(self, job: Job) -> bool:
        return job.id in self._writes

    async def wait(self, job: Job) -> Exception | None:
        """Wait for ``job``'s record; the store's error if it could not be written."""
        write = self._writes.get(job.id)
        if write is None:
            return None
        try:
            # Shielded: a cancelled waiter must not cancel the write itself.
            await asyncio.shield(asyncio.wrap_future(write))
        except Exception as error:
            if self._writes.pop(job.id, None) is not None:
                self._on_failed(job, error)
            return error
        self._writes.pop(job.id, None)
        return None


def refusal(
    error: Exception, folder: Path | None = None, free_space: FreeSpace | None = None
) -> DomainError:
    """What the submitter of a job whose record could not be written in ``folder`` is told."""
    where = f" in {folder}" if folder is not None else ""
    if is_disk_full(error):
        free_mb = free_space.free_mb_now(folder) if free_space and folder else None
        free = "unknown" if free_mb is None else f"{free_mb} MB"
        return InsufficientStorage(
            f"No space left{where} to record the job ({free} free); it was not queued.",
            (Remedy.FREE_DISK_SPACE,),
        )
    reason = getattr(error, "strerror", None) or type(error).__name__
    return ServiceUnavailable(
        f"The job could not be recorded{where} ({reason}); it was not queued."
    )
