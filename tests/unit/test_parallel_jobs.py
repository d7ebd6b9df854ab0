"""Several jobs at once: a backend that runs more than one (a cluster's workers) gets as
many as it says, each in a job run of its own; every other backend keeps one at a time."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from application.readiness import Readiness, parallel_jobs
from domain.generation_request import GenerationRequest
from domain.job import Job, JobStatus
from tests.support.fakes import FakeBackend
from tests.support.running_service import make_service, run, until


@dataclass
class ParallelFakeBackend(FakeBackend):
    """A FakeBackend that says how many jobs it runs at once, and records the most that did."""

    parallel_jobs: int = 2
    running: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().generate(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


def request(prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, num_inference_steps=2, width=64, height=64)


def test_a_backend_says_how_many_jobs_it_runs_at_once() -> None:
    assert parallel_jobs(FakeBackend()) == 1  # says nothing: one engine, one job
    assert parallel_jobs(ParallelFakeBackend(parallel_jobs=3)) == 3


def test_as_many_jobs_run_as_the_backend_runs_and_the_rest_wait_in_order() -> None:
    backend = ParallelFakeBackend(parallel_jobs=2, hold=threading.Event())
    service, images = make_service(backend, max_parallel_jobs=4)

    async def scenario() -> None:
        jobs = [service.queue.accept(request(f"p{n}")) for n in range(4)]
        await until(lambda: len(service.queue.running_jobs) == 2, "two jobs running")
        assert [job.status for job in jobs] == [JobStatus.RUNNING] * 2 + [JobStatus.QUEUED] * 2
        assert service.health().running == 2
        assert [service.queue.position(job) for job in jobs[2:]] == [1, 2]

        # Capacity grows (a worker came): a third loop takes the next job.
        backend.parallel_jobs = 3
        service.readiness.capacity_changed()
        await until(lambda: len(service.queue.running_jobs) == 3, "three jobs running")
        assert service.queue.running is jobs[0]  # the oldest running

        assert backend.hold is not None
        backend.hold.set()
        for job in jobs:
            await service.queue.wait(job)
        assert all(job.status is JobStatus.SUCCEEDED for job in jobs)

    run(service, scenario)
    assert backend.most_at_once == 3
    assert len(images.saved) == 4


def test_one_engine_keeps_one_job_at_a_time_whatever_the_loops() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend, max_parallel_jobs=4)

    async def scenario() -> None:
        jobs = [service.queue.accept(request(f"p{n}")) for n in range(3)]
        await until(lambda: len(service.queue.running_jobs) == 1, "one job running")
        assert [job.status for job in jobs[1:]] == [JobStatus.QUEUED] * 2
        assert backend.hold is not None
        backend.hold.set()
        for job in jobs:
            await service.queue.wait(job)

    run(service, scenario)


def test_stopping_the_service_stops_every_running_job() -> None:
    backend = ParallelFakeBackend(parallel_jobs=2, hold=threading.Event())
    service, images = make_service(backend, max_parallel_jobs=2)
    jobs: list[Job] = []

    async def scenario() -> None:
        jobs.extend(service.queue.accept(request(f"p{n}")) for n in range(3))
        await until(lambda: len(service.queue.running_jobs) == 2, "two jobs running")

    run(service, scenario)  # stops the service with two jobs running
    assert [job.status for job in jobs] == [JobStatus.FAILED, JobStatus.FAILED, JobStatus.QUEUED]
    assert all(job.error is not None and job.error.type.value == "interrupted" for job in jobs[:2])
    assert images.saved == {}


def test_a_waiting_slot_wakes_when_the_backend_comes() -> None:
    readiness = Readiness()

    async def scenario() -> None:
        slot_one = asyncio.create_task(readiness.wait_for_slot(1))
        await asyncio.sleep(0)
        readiness.attach(ParallelFakeBackend(parallel_jobs=1))
        await asyncio.sleep(0.01)
        assert not slot_one.done()  # one job at a time: slot 1 waits on
        readiness.attach(ParallelFakeBackend(parallel_jobs=2))
        await asyncio.wait_for(slot_one, 1)

    asyncio.run(scenario())
