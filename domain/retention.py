"""Which past jobs a retention policy removes: oldest first, whole jobs at a time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.job import Job


@dataclass(frozen=True)
class RetentionPolicy:
    max_images: int | None = None
    max_age_days: float | None = None

    @property
    def enabled(self) -> bool:
        return self.max_images is not None or self.max_age_days is not None


def expired_jobs(jobs: Iterable[Job], policy: RetentionPolicy, now: datetime) -> list[Job]:
    """Finished jobs past the age limit, then the oldest until at most ``max_images`` remain."""
    finished = sorted((job for job in jobs if job.status.is_final), key=lambda job: job.created_at)
    expired: list[Job] = []
    if policy.max_age_days is not None:
        cutoff = now - timedelta(days=policy.max_age_days)
        expired = [job for job in finished if job.created_at < cutoff]
    if policy.max_images is not None:
        kept = [job for job in finished if job not in expired]
        image_count = sum(len(job.images) for job in kept)
        for job in kept:
            if image_count <= policy.max_images:
                break
            expired.append(job)
            image_count -= len(job.images)
    return expired
