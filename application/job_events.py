"""Per-job event streams: subscribers get the current state first, then every change.

Events are published on the event loop only; the engine thread hands them over
with ``call_soon_threadsafe``. A subscriber that falls behind loses old
progress events, never the final one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.job import Job, JobStatus

FINAL_EVENTS = frozenset({"succeeded", "failed", "cancelled"})
_SUBSCRIBER_BUFFER = 64


@dataclass(frozen=True)
class JobEvent:
    kind: str
    """queued, started, progress, preview, succeeded, failed or cancelled."""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.kind in FINAL_EVENTS


def final_event(job: Job) -> JobEvent:
    """The event that ends a job's stream, live or for a subscriber who comes late.

    A failure's ``error`` is the ``JobError`` itself, a success's ``images`` the job's
    ``ImageRef``s (with their safety verdicts): the edge words and presents them.
    """
    data: dict[str, object] = {}
    if job.error is not None:
        data["error"] = job.error
    if job.status is JobStatus.SUCCEEDED:
        data["images"] = list(job.images)
    return JobEvent(job.status.value, data)


def progress_data(job: Job, now: datetime) -> dict[str, object]:
    return {"step": job.step, "total": job.total_steps, "eta_seconds": job.eta_seconds(now)}


def snapshot_event(job: Job, queue_position: int | None, now: datetime) -> JobEvent:
    """The job's state now, as the event a late subscriber gets first."""
    if job.status is JobStatus.QUEUED:
        return JobEvent("queued", {"queue_position": queue_position})
    if job.status is JobStatus.RUNNING:
        return JobEvent("progress", progress_data(job, now))
    return final_event(job)


class JobEventBroker:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[JobEvent]]] = {}

    def publish(self, job_id: str, event: JobEvent) -> None:
        for queue in self._subscribers.get(job_id, ()):
            if queue.full() and not event.is_final:
                continue
            if queue.full():
                queue.get_nowait()  # free a place: the final event must arrive
            queue.put_nowait(event)
        if event.is_final:
            self._subscribers.pop(job_id, None)

    def subscribe(self, job_id: str, current: JobEvent) -> AsyncIterator[JobEvent]:
        """``current`` (the job's state now), then every event until the final one.

        The subscription is registered before this returns, so nothing published
        after ``current`` was taken can be missed.
        """
        queue: asyncio.Queue[JobEvent] = asyncio.Queue(_SUBSCRIBER_BUFFER)
        if not current.is_final:
            self._subscribers.setdefault(job_id, set()).add(queue)
        return self._drain(job_id, queue, current)

    async def _drain(
        self, job_id: str, queue: asyncio.Queue[JobEvent], current: JobEvent
    ) -> AsyncIterator[JobEvent]:
        try:
            yield current
            while not current.is_final:
                current = await queue.get()
                yield current
        finally:
            subscribers = self._subscribers.get(job_id)
            if subscribers is not None:
                subscribers.discard(queue)
