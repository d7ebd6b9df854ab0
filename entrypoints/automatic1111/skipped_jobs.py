"""AUTOMATIC1111's `skip`: the running image is dropped and its batch goes on, where
`interrupt` ends the batch. Both cancel the running job; this set tells them apart."""

from __future__ import annotations


class SkippedJobs:
    def __init__(self) -> None:
        self._ids: set[str] = set()

    def skip(self, job_id: str) -> None:
        self._ids.add(job_id)

    def is_skipped(self, job_id: str) -> bool:
        """Whether ``job_id`` was skipped, without forgetting it (for `progress`)."""
        return job_id in self._ids

    def was_skipped(self, job_id: str) -> bool:
        """Whether ``job_id`` was skipped; asked once, when the job has ended."""
        if job_id in self._ids:
            self._ids.discard(job_id)
            return True
        return False
