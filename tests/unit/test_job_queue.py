"""Accepting and queueing: checks before a job exists, seeds, positions, the full line."""

from __future__ import annotations

import asyncio
import threading

import pytest

from domain.errors import (
    JobNotFound,
    Problem,
    QueueFull,
    Remedy,
    ServiceUnavailable,
    UnsupportedOption,
)
from domain.generation_request import GenerationRequest
from domain.job import JobStatus
from tests.support.fakes import (
    FakeBackend,
)
from tests.support.running_service import (
    generate,
    make_service,
    run,
    small,
    until,
)


def test_missing_seed_is_chosen_and_reported() -> None:
    backend = FakeBackend()
    service, _ = make_service(backend)

    async def scenario() -> None:
        job = await generate(service, small(prompt="fox"))
        assert job.seed == 1234
        assert job.request.seed == 1234

    run(service, scenario)
    assert backend.calls[0][1] == 1234


def test_unavailable_backend_refuses_with_the_reason() -> None:
    service, _ = make_service()
    missing = Problem("The model is missing.", (Remedy.DOWNLOAD_MODEL,))
    service.readiness.mark_unavailable(missing)

    async def scenario() -> None:
        with pytest.raises(ServiceUnavailable) as caught:
            await generate(service, GenerationRequest(prompt="x"))
        assert caught.value.problem == missing

    run(service, scenario)
    assert service.health().status == "degraded"
    assert service.health().reason == missing


def test_unsupported_scheduler_is_refused_before_the_backend_runs() -> None:
    backend = FakeBackend(schedulers=("pndm", "euler"))
    service, _ = make_service(backend)
    with pytest.raises(UnsupportedOption) as caught:
        service.queue.accept(GenerationRequest(prompt="x", scheduler="ddim"))
    assert "pndm, euler" in caught.value.details[0].message
    assert backend.calls == []


def test_queue_positions_and_exact_number_rejected_when_full() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend, max_queue=3)

    async def scenario() -> None:
        first = service.queue.accept(small())
        await until(lambda: first.status is JobStatus.RUNNING)
        accepted, rejected = [], []
        for _ in range(8):
            try:
                accepted.append(service.queue.accept(small()))
            except QueueFull as error:
                rejected.append(error.retry_after_seconds)
        assert (len(accepted), len(rejected)) == (3, 5)
        assert all(seconds >= 1 for seconds in rejected)
        waiting = accepted
        assert [service.queue.position(job) for job in waiting] == [1, 2, 3]
        assert service.queue.position(first) is None
        service.cancel(waiting[0].id)
        assert waiting[0].status is JobStatus.CANCELLED
        assert [service.queue.position(job) for job in waiting[1:]] == [1, 2]
        assert service.health().queued == 2
        assert service.health().running == 1
        assert backend.hold is not None
        backend.hold.set()
        for job in waiting[1:]:
            await service.queue.wait(job)
        assert [job.status for job in waiting[1:]] == [JobStatus.SUCCEEDED] * 2

    run(service, scenario)
    assert len(backend.calls) == 3


def test_queued_event_is_sent_again_when_the_position_changes() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend)

    async def scenario() -> None:
        running = service.queue.accept(small())
        await until(lambda: running.status is JobStatus.RUNNING)
        ahead = service.queue.accept(small())
        job = service.queue.accept(small())
        stream = service.subscribe(job.id)
        first = await anext(stream)
        assert (first.kind, first.data) == ("queued", {"queue_position": 2})
        service.cancel(ahead.id)
        moved = await asyncio.wait_for(anext(stream), 5)
        assert (moved.kind, moved.data) == ("queued", {"queue_position": 1})
        service.cancel(job.id)
        final = await asyncio.wait_for(anext(stream), 5)
        assert final.kind == "cancelled"
        await stream.aclose()  # type: ignore[attr-defined]

    run(service, scenario)


def test_deleting_a_jobs_images_drops_the_job_from_the_job_list() -> None:
    service, _ = make_service(FakeBackend())

    async def scenario() -> None:
        kept = await generate(service, small(num_inference_steps=2))
        deleted = await generate(service, small(num_inference_steps=2))
        await service.delete_images(deleted.id)
        assert [job.id for job in service.queue.recent()] == [kept.id]
        with pytest.raises(JobNotFound):
            service.get(deleted.id)

    run(service, scenario)
