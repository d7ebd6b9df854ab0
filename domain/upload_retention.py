"""Which uploaded input images a retention policy removes.

Uploads fall under the images' policy: those older than its age limit go, then the
oldest until no more than its count remain. Never one a job still to run reads (waiting
or running: its record names the upload), and never one younger than ``UPLOAD_GRACE``:
a client uploads and then submits, and an inline image is stored just before its job is
accepted, so for a moment an upload about to be used is referenced by no job yet. Age
and grace count from an upload's last use (a request naming it, the same image uploaded
again) when that is later than its creation: an old upload named again is not pruned
between the request's resolution and its job's acceptance. Jobs that have finished do
not hold their inputs: their provenance keeps the SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from domain.job import Job
from domain.retention import RetentionPolicy

UPLOAD_GRACE = timedelta(minutes=10)


class Upload(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def last_used(self) -> datetime | None: ...


U = TypeVar("U", bound=Upload)


def uploads_in_use(jobs: Iterable[Job]) -> set[str]:
    """The uploads that jobs not yet final will read."""
    return {
        image.upload_id
        for job in jobs
        if not job.status.is_final
        for image in (job.request.init_image, job.request.mask_image)
        if image is not None
    }


def expired_uploads(
    uploads: Iterable[U],
    jobs: Iterable[Job],
    policy: RetentionPolicy,
    now: datetime,
    grace: timedelta = UPLOAD_GRACE,
) -> list[U]:
    """The uploads to remove, oldest first. Those in use or in their grace period count
    towards ``max_images`` but are never chosen."""
    if not policy.enabled:
        return []
    in_use = uploads_in_use(jobs)
    oldest_first = sorted(uploads, key=lambda upload: (last_active(upload), upload.id))

    def removable(upload: U) -> bool:
        return upload.id not in in_use and now - last_active(upload) >= grace

    expired: list[U] = []
    if policy.max_age_days is not None:
        cutoff = now - timedelta(days=policy.max_age_days)
        expired = [u for u in oldest_first if last_active(u) < cutoff and removable(u)]
    if policy.max_images is not None:
        chosen = {upload.id for upload in expired}
        remaining = len(oldest_first) - len(expired)
        for upload in oldest_first:
            if remaining <= policy.max_images:
                break
            if upload.id not in chosen and removable(upload):
                expired.append(upload)
                remaining -= 1
    return sorted(expired, key=lambda upload: (last_active(upload), upload.id))


def last_active(upload: Upload) -> datetime:
    """When the upload was stored or, later, last named by a request: its age counts from
    then."""
    if upload.last_used is None:
        return upload.created_at
    return max(upload.created_at, upload.last_used)
