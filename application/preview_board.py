"""The latest preview of each running job, for callers that poll instead of following
the job's events (AUTOMATIC1111's `/progress` shows one `current_image`).

The job run pins each preview it publishes and clears the job's entry when the job
ends, so the board holds running jobs only and never grows with history.
"""

from __future__ import annotations

from domain.job import Job, JobStatus


class PreviewBoard:
    """One data: URL per running job: the last preview published for it."""

    def __init__(self) -> None:
        self._latest: dict[str, str] = {}

    def pin(self, job: Job, preview: str) -> None:
        """Keep ``preview`` as ``job``'s latest, unless the job has already ended: a
        preview the engine thread sent just before the end may arrive after it."""
        if job.status is JobStatus.RUNNING:
            self._latest[job.id] = preview

    def clear(self, job_id: str) -> None:
        """The job ended: forget its preview."""
        self._latest.pop(job_id, None)

    def latest(self, job_id: str) -> str | None:
        """The job's last pinned preview; None before the first and once the job ended."""
        return self._latest.get(job_id)
