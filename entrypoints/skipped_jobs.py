"""Jobs cancelled so that their call goes on: AUTOMATIC1111's `skip` drops the running
image and its batch continues, where `interrupt` (or any other cancel) ends the batch.
Both cancel the running job; this set tells them apart for `run_in_jobs`."""

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

    def was_skipped(self, job_id: str) -> bool:
        """Whether ``job_id`` was skipped; asked once, when the job has ended."""
        return self._ids.pop(job_id, False) is None
