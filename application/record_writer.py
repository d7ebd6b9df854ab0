"""The one thread that writes job records, in the order their changes were made.

A write that fails (a full disk) is kept and tried again: before the next write, every
few seconds while no other write comes, and once more at close; so the service heals
on its own when space is freed, and a stop never leaves a record behind silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from application.ports import HistoryStore

log = structlog.get_logger("history")

RETRY_SECONDS = 5.0
"""How long a failed record waits, while no other write comes, before it is tried again."""

T = TypeVar("T")


class RecordWriter:
    def __init__(
        self,
        store: HistoryStore,
        is_known: Callable[[str], bool],
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._store = store
        self._is_known = is_known
        """False for a job deleted meanwhile: its record must not come back."""
        self._retry_seconds = retry_seconds
        self.serial = threading.RLock()
        """Held across every call to the store (here and the history's removals), never
        by the event loop: a job's record write and its removal never interleave."""
        self._state = threading.Lock()
        # Made when first needed, so a history that is closed and used again still works.
        self._executor: ThreadPoolExecutor | None = None
        self._timer: threading.Timer | None = None
        self._unwritten: dict[str, Mapping[str, Any]] = {}
        """Records whose last write failed, by job id (under ``serial``)."""

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``work`` in the writer thread, after everything submitted before it."""
        with self._state:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
            return self._executor.submit(work, *args)

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        """Write ``record`` after retrying the failed ones; never raises: a failed write
        is logged once, kept, and retried."""
        with self.serial:
            self._unwritten.pop(job_id, None)  # this newer record replaces it
            self._retry()
            self._try(job_id, record)
        self._retry_later()

    def write_or_raise(self, job_id: str, record: Mapping[str, Any]) -> None:
        """Write ``record`` or raise the store's error, keeping nothing: for a record
        whose job the caller refuses when it cannot be written."""
        with self.serial:
            self._retry()
            self._store.write(job_id, record)

    def forget(self, job_id: str) -> None:
        with self.serial:
            self._unwritten.pop(job_id, None)

    def close(self) -> None:
        """Finish the writes submitted so far, try every failed record once more, and
        log each one still not written (its job's state on disk is older than it is)."""
        with self._state:
            executor, self._executor = self._executor, None
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if executor is not None:
            executor.shutdown(wait=True)
        with self.serial:
            self._retry()
            for job_id, record in self._unwritten.items():
                log.error("history_record_not_written", job_id=job_id, status=record.get("status"))

    def _retry(self) -> None:
        for job_id, record in list(self._unwritten.items()):
            if self._try(job_id, record):
                log.info("history_write_retried", job_id=job_id)

    def _try(self, job_id: str, record: Mapping[str, Any]) -> bool:
        if not self._is_known(job_id):
            self._unwritten.pop(job_id, None)
            return True
        try:
            self._store.write(job_id, record)
        except Exception as error:
            # A full disk must not lose the job: it lives on in memory, and this record
            # is written again later.
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

    def _retry_later(self) -> None:
        """While records wait to be written, try them again after a while, in the writer
        thread: without it, a freed disk would heal only when the next job comes."""
        with self.serial:
            waiting = bool(self._unwritten)
        with self._state:
            if not waiting or self._timer is not None or self._executor is None:
                return
            self._timer = threading.Timer(self._retry_seconds, self._on_timer)
            self._timer.daemon = True
            self._timer.start()

    def _on_timer(self) -> None:
        with self._state:
            self._timer = None
            # Never a new thread from here: after close, the close's own retry is the last.
            if self._executor is not None:
                self._executor.submit(self._retry_idle)

    def _retry_idle(self) -> None:
        with self.serial:
            self._retry()
        self._retry_later()
