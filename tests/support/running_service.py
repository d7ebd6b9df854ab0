"""The generation service with hand-written fakes of its ports, run as the app runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from application.generation_service import GenerationService
from application.history import History
from application.job_events import JobEvent
from application.safety_screening import SafetyScreening
from domain.generation_request import GenerationRequest
from domain.job import Job
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeClock,
    FakeHistoryStore,
    FakeImageStore,
    FakeModelStore,
)
from tests.support.waiting import wait_until_async


def small(**values: Any) -> GenerationRequest:
    """A cheap request: 64x64 unless told otherwise."""
    return GenerationRequest(**{"prompt": "x", "width": 64, "height": 64, **values})


def make_service(
    backend: FakeBackend | None = None,
    timeout: float = 30.0,
    max_queue: int = 16,
    *,
    history_store: FakeHistoryStore | None = None,
    models: FakeModelStore | None = None,
    retention: RetentionPolicy | None = None,
    clock: FakeClock | None = None,
    safety: SafetyScreening | None = None,
    max_parallel_jobs: int = 1,
) -> tuple[GenerationService, FakeImageStore]:
    images = FakeImageStore()
    ids = iter(f"job{n}" for n in range(100))
    service = GenerationService(
        images,
        models or FakeModelStore(),
        History(history_store or FakeHistoryStore(), images, retention or RetentionPolicy()),
        device_target="GPU",
        timeout_seconds=timeout,
        max_queue=max_queue,
        clock=clock or FakeClock(),
        new_job_id=lambda: next(ids),
        new_seed=lambda: 1234,
        safety=safety,
        max_parallel_jobs=max_parallel_jobs,
    )
    if backend is not None:
        service.readiness.attach(backend)
    return service, images


def run(service: GenerationService, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run ``scenario`` with the worker started and stopped, as the app's lifespan does."""

    async def main() -> None:
        await service.start()
        try:
            await scenario()
        finally:
            await service.stop()

    asyncio.run(main())


async def until(condition: Callable[[], bool], what: str = "the condition") -> None:
    await wait_until_async(condition, what)


async def generate(service: GenerationService, request: GenerationRequest) -> Job:
    """What `POST /image` does: submit, wait, and raise a failed job's error."""
    job = service.queue.accept(request)
    await service.queue.wait(job)
    service.raise_for_outcome(job)
    return job


async def collect_events(service: GenerationService, job_id: str) -> list[JobEvent]:
    return [event async for event in service.subscribe(job_id)]
