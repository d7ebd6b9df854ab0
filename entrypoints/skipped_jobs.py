"""Jobs cancelled so that their call goes on: AUTOMATIC1111's `skip` drops the running
image and its batch continues, where `interrupt` (or any other cancel) ends the batch.
Both cancel the running job; this set tells them apart for `run_in_jobs` (the calls an
interrupt stops are in `calls_in_progress`)."""

from __future__ import annotations

from collections import OrderedDict

# Skips are asked about once, when their batch goes on; one of a job outside any batch
# (`POST /jobs`) never is. Only the newest are kept: one skip per running job at most.
MAX_REMEMBERED = 64


class SkippedJobs:
    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._max = max_remembered

    def skip(self, job_id: str) -> None:
        self._ids[job_id] = None
        self._ids.move_to_end(job_id)
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)

    def is_skipped(self, job_id: str) -> bool:
        """Whether ``job_id`` was skipped, without forgetting it (for `progress`)."""
        return job_id in self._ids

    def take_skip(self, job_id: str) -> bool:
        """Whether ``job_id`` was skipped, forgetting the mark: asked once, by the job's
        call when the job has ended."""
        if job_id in self._ids:
            del self._ids[job_id]
            return True
        return False
