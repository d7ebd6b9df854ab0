"""The worker loop: one job at a time, in order, and it survives what a job does."""

from __future__ import annotations

import asyncio
import threading

from domain.job import JobErrorType, JobStatus
from tests.support.fakes import (
    FakeBackend,
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


def test_concurrent_requests_run_one_at_a_time_in_order() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    order: list[int] = []

    class CountingBackend(FakeBackend):
        def generate(self, request, seed, on_progress, should_cancel, edit=None):  # type: ignore[no-untyped-def]
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            order.append(seed)
            try:
                threading.Event().wait(0.02)
                return super().generate(request, seed, on_progress, should_cancel, edit)
            finally:
                with lock:
                    active -= 1

    service, images = make_service(CountingBackend())

    async def scenario() -> None:
        jobs = await asyncio.gather(
            *(generate(service, small(seed=n, num_inference_steps=2)) for n in range(5))
        )
        assert all(job.status is JobStatus.SUCCEEDED for job in jobs)

    run(service, scenario)
    assert peak == 1
    assert order == [0, 1, 2, 3, 4]
    assert len(images.saved) == 5


def test_an_error_outside_the_render_fails_the_job_and_the_worker_keeps_serving() -> None:
    models = FakeModelStore(status_errors=[RuntimeError("/secret/model unreadable")])
    service, _ = make_service(FakeBackend(), models=models)

    async def scenario() -> None:
        broken = service.queue.accept(small(num_inference_steps=2))
        events = asyncio.create_task(collect_events(service, broken.id))
        following = service.queue.accept(small(num_inference_steps=2))
        await until(lambda: following.status.is_final)
        assert (broken.status, following.status) == (JobStatus.FAILED, JobStatus.SUCCEEDED)
        assert broken.error is not None
        assert broken.error.type is JobErrorType.GENERATION_FAILED
        assert "/secret" not in broken.error.message
        final = (await asyncio.wait_for(events, 5))[-1]
        assert final.kind == "failed" and final.data["error"] is broken.error

    run(service, scenario)
