"""Cancelling in each state, a client that goes away, and stopping the service."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from application.generation_service import GenerationService
from application.history import History
from domain.errors import (
    InvalidTransition,
    JobNotFound,
    Remedy,
    ServiceUnavailable,
)
from domain.generation_request import GenerationRequest
from domain.job import JobErrorType, JobStatus
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeHistoryStore,
    FakeImageStore,
    FakeModelStore,
)
from tests.support.running_service import (
    collect_events,
    generate,
    make_service,
    run,
    small,
    until,
)


def test_cancel_running_job_stops_it_and_writes_nothing() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend)

    async def scenario() -> None:
        job = service.queue.accept(small())
        await until(lambda: job.status is JobStatus.RUNNING)
        service.cancel(job.id)
        await service.queue.wait(job)
        assert job.status is JobStatus.CANCELLED
        with pytest.raises(InvalidTransition):
            service.cancel(job.id)
        with pytest.raises(JobNotFound):
            service.cancel("nope")

    run(service, scenario)
    assert images.saved == {}


def test_abandoned_queued_job_is_cancelled_running_one_finishes() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend)

    async def scenario() -> None:
        running = service.queue.accept(small())
        await until(lambda: running.status is JobStatus.RUNNING)
        queued = service.queue.accept(small())
        service.cancellation.abandon(queued)
        service.cancellation.abandon(running)
        assert queued.status is JobStatus.CANCELLED
        assert backend.hold is not None
        backend.hold.set()
        await service.queue.wait(running)
        assert running.status is JobStatus.SUCCEEDED
        assert [job.id for job in service.queue.recent()] == [queued.id, running.id]

    run(service, scenario)


def test_stop_refuses_new_work_interrupts_the_running_job_and_keeps_the_waiting_one() -> None:
    backend = FakeBackend(hold=threading.Event())
    store = FakeHistoryStore()
    service, images = make_service(backend, history_store=store)
    jobs = []

    async def scenario() -> None:
        jobs.append(service.queue.accept(small()))
        await until(lambda: jobs[0].status is JobStatus.RUNNING)
        jobs.append(service.queue.accept(small()))

    run(service, scenario)
    running, waiting = jobs
    assert running.status is JobStatus.FAILED
    assert running.error is not None and running.error.type is JobErrorType.INTERRUPTED
    assert Remedy.SUBMIT_AGAIN in running.error.remedies
    assert waiting.status is JobStatus.QUEUED
    # On disk as in memory: the next start runs the waiting job.
    assert store.records[running.id]["status"] == "failed"
    assert store.records[waiting.id]["status"] == "queued"
    assert images.saved == {}
    with pytest.raises(ServiceUnavailable, match="shutting down"):
        service.queue.accept(GenerationRequest(prompt="x"))


def test_exit_signal_answers_waiting_callers_before_the_worker_stops() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend)

    async def scenario() -> None:
        running = asyncio.ensure_future(generate(service, small()))
        await until(lambda: any(j.status is JobStatus.RUNNING for j in service.queue.recent()))
        queued = asyncio.ensure_future(generate(service, small()))
        stream = asyncio.ensure_future(collect_events(service, "job1"))
        await until(lambda: len(service.queue.waiting) == 1)
        service.begin_shutdown()
        with pytest.raises(ServiceUnavailable, match="shutting down"):
            service.queue.accept(small())
        # At once, not after the running job: the queued job stays queued for the restart.
        with pytest.raises(ServiceUnavailable, match="job1 stays queued"):
            await asyncio.wait_for(queued, 5)
        assert [event.kind for event in await asyncio.wait_for(stream, 5)] == ["queued"]
        with pytest.raises(ServiceUnavailable, match="stopped while this job was running"):
            await asyncio.wait_for(running, 5)

    run(service, scenario)
    assert images.saved == {}


class HeldFinalWrite(FakeHistoryStore):
    """Holds the write of a final record, the moment a job is final but still running."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()

    def write(self, job_id: str, record: Any) -> None:
        if record.get("status") in ("failed", "succeeded", "cancelled"):
            self.reached.set()
            self.release.wait(5)
        super().write(job_id, record)


def test_stop_while_a_finished_job_is_being_recorded_is_not_an_error() -> None:
    images = FakeImageStore()
    history = HeldFinalWrite()
    service = GenerationService(
        images,
        FakeModelStore(),
        History(history, images, RetentionPolicy()),
        device_target="CPU",
        timeout_seconds=30.0,
        max_queue=4,
    )
    service.readiness.attach(FakeBackend(error=RuntimeError("device lost")))
    jobs = []

    async def scenario() -> None:
        jobs.append(service.queue.accept(small()))
        await until(history.reached.is_set, "the final record's write")
        # Stopping begins (it cancels at once, then waits) while the record is held.
        stopping = asyncio.ensure_future(service.stop())
        await asyncio.sleep(0)
        assert not stopping.done()
        history.release.set()
        await asyncio.wait_for(stopping, 5)

    run(service, scenario)
    assert jobs[0].status is JobStatus.FAILED
    assert history.records[jobs[0].id]["status"] == "failed"
