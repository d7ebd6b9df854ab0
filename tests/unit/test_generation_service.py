"""The service with hand-written fakes of its ports, its worker running as in the app."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from application.generation_service import GenerationService
from application.history import History
from application.job_events import JobEvent
from domain.errors import (
    GenerationFailed,
    GenerationTimeout,
    ImageNotFound,
    InvalidTransition,
    JobNotFound,
    Problem,
    QueueFull,
    Remedy,
    ServiceUnavailable,
    UnsupportedOption,
)
from domain.generation_request import GenerationRequest
from domain.job import Job, JobErrorType, JobStatus
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


def test_generates_and_stores_image_with_parameters() -> None:
    service, images = make_service(FakeBackend())

    async def scenario() -> None:
        job = await generate(service, small(prompt="fox", seed=42))
        assert job.status is JobStatus.SUCCEEDED
        assert (job.seed, job.provider, job.device, job.mock) == (42, "fake", "CPU", False)
        assert [ref.name for ref in job.images] == ["job0.png"]
        assert job.step == job.total_steps == 20

    run(service, scenario)
    image, chunks = images.saved["job0.png"]
    assert (image.width, image.height, image.seed) == (64, 64, 42)
    assert chunks["parameters"] == (
        "fox\nSteps: 20, CFG scale: 7.5, Seed: 42, Size: 64x64, Model: OpenVINO/fake-model"
    )
    provenance = json.loads(chunks["provenance"])
    assert provenance["request"]["prompt"] == "fox"
    assert provenance["seed"] == 42
    assert provenance["model"] == {"repo_id": "OpenVINO/fake-model", "revision": None}
    assert provenance["engine"] == {"engine": "fake"}
    assert provenance["device"] == "CPU"
    assert provenance["timings_ms"]["generation"] >= 0


def test_missing_seed_is_chosen_and_reported() -> None:
    backend = FakeBackend()
    service, _ = make_service(backend)

    async def scenario() -> None:
        job = await generate(service, small(prompt="fox"))
        assert job.seed == 1234
        assert job.request.seed == 1234

    run(service, scenario)
    assert backend.calls[0][1] == 1234


def test_batch_uses_consecutive_seeds_and_counts_progress_over_the_job() -> None:
    backend = FakeBackend()
    service, images = make_service(backend)

    async def scenario() -> None:
        request = small(seed=10, num_images=3, num_inference_steps=4)
        job = await generate(service, request)
        assert [ref.seed for ref in job.images] == [10, 11, 12]
        assert [ref.name for ref in job.images] == ["job0-0.png", "job0-1.png", "job0-2.png"]
        assert (job.step, job.total_steps) == (12, 12)

    run(service, scenario)
    assert [seed for _, seed in backend.calls] == [10, 11, 12]
    assert len(images.saved) == 3


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


def test_backend_error_becomes_generic_failure_and_service_keeps_serving() -> None:
    backend = FakeBackend(error=RuntimeError("/secret/path exploded"))
    service, images = make_service(backend)

    async def scenario() -> None:
        with pytest.raises(GenerationFailed) as caught:
            await generate(service, small())
        assert "/secret/path" not in caught.value.message
        assert images.saved == {}
        backend.error = None
        job = await generate(service, small())
        assert job.status is JobStatus.SUCCEEDED

    run(service, scenario)


def test_timeout_stops_the_backend_writes_nothing_and_frees_the_worker() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend, timeout=0.2)
    request = small(num_inference_steps=5)

    async def scenario() -> None:
        with pytest.raises(GenerationTimeout) as caught:
            await generate(service, request)
        assert "step 0 of 5 on CPU" in caught.value.message
        assert images.saved == {}
        backend.hold = None
        assert (await generate(service, request)).status is JobStatus.SUCCEEDED

    run(service, scenario)


class FallingBackToCpu(FakeBackend):
    """Starts on the GPU and moves to the CPU once the job runs, as a device retry does."""

    def __init__(self, clock: FakeClock, seconds_on_gpu: float) -> None:
        super().__init__(device="GPU", hold=threading.Event())
        self._clock = clock
        self._seconds_on_gpu = seconds_on_gpu

    def generate(self, request, seed, on_progress, should_cancel):  # type: ignore[no-untyped-def]
        self._clock.advance(self._seconds_on_gpu)
        self.device = "CPU"
        return super().generate(request, seed, on_progress, should_cancel)


def test_timeout_message_gives_the_time_spent_and_the_device_that_ran_last() -> None:
    clock = FakeClock()
    service, _ = make_service(FallingBackToCpu(clock, 42.5), timeout=0.2, clock=clock)

    async def scenario() -> None:
        with pytest.raises(GenerationTimeout) as caught:
            await generate(service, small(num_inference_steps=5))
        message = caught.value.message
        assert "stopped after 42.5 s at step 0 of 5 on CPU" in message
        assert "limit is 0.2 s" in message
        assert caught.value.remedies == (Remedy.RAISE_TIMEOUT,)
        assert service.queue.recent()[0].device == "GPU"

    run(service, scenario)


def test_concurrent_requests_run_one_at_a_time_in_order() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    order: list[int] = []

    class CountingBackend(FakeBackend):
        def generate(self, request, seed, on_progress, should_cancel):  # type: ignore[no-untyped-def]
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            order.append(seed)
            try:
                threading.Event().wait(0.02)
                return super().generate(request, seed, on_progress, should_cancel)
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


def test_events_arrive_in_order_with_exactly_one_final_event() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend)

    async def scenario() -> None:
        blocker = service.queue.accept(small())
        await until(lambda: blocker.status is JobStatus.RUNNING)
        job = service.queue.accept(small(num_inference_steps=3))
        seen: list[JobEvent] = []

        async def collect() -> None:
            async for event in service.subscribe(job.id):
                seen.append(event)

        collector = asyncio.create_task(collect())
        await until(lambda: bool(seen), "the queued event")
        assert backend.hold is not None
        backend.hold.set()
        await asyncio.wait_for(collector, 5)
        kinds = [event.kind for event in seen]
        assert kinds[0] == "queued" and seen[0].data == {"queue_position": 1}
        assert kinds[-1] == "succeeded"
        assert sum(kind in {"succeeded", "failed", "cancelled"} for kind in kinds) == 1
        progress = [event.data["step"] for event in seen if event.kind == "progress"]
        assert progress == [1, 2, 3]
        assert kinds.index("started") < kinds.index("progress")
        late = [event.kind async for event in service.subscribe(job.id)]
        assert late == ["succeeded"]

    run(service, scenario)


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


def test_stop_refuses_new_work_and_cancels_what_is_left() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend)
    jobs = []

    async def scenario() -> None:
        jobs.append(service.queue.accept(small()))
        await until(lambda: jobs[0].status is JobStatus.RUNNING)
        jobs.append(service.queue.accept(small()))

    run(service, scenario)
    assert [job.status for job in jobs] == [JobStatus.CANCELLED, JobStatus.CANCELLED]
    assert images.saved == {}
    with pytest.raises(ServiceUnavailable, match="shutting down"):
        service.queue.accept(GenerationRequest(prompt="x"))


def test_exit_signal_answers_waiting_callers_before_the_worker_stops() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend)

    async def scenario() -> None:
        waiting = asyncio.ensure_future(generate(service, small()))
        await until(lambda: any(j.status is JobStatus.RUNNING for j in service.queue.recent()))
        queued = service.queue.accept(small())
        service.begin_shutdown()
        assert queued.status is JobStatus.CANCELLED  # at once, not after the running job
        with pytest.raises(ServiceUnavailable, match="shutting down"):
            service.queue.accept(small())
        with pytest.raises(ServiceUnavailable, match="shutting down: the job was cancelled"):
            await asyncio.wait_for(waiting, 5)

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


def test_health_reports_device_target_active_and_fallback() -> None:
    backend = FakeBackend(fallback_reason=Problem("GPU not found", (Remedy.USE_CPU,)))
    service, _ = make_service(backend)
    report = service.health()
    assert report.ready
    assert report.status == "ok"
    assert (report.device.target, report.device.active, report.device.fallback_reason) == (
        "GPU",
        "CPU",
        Problem("GPU not found", (Remedy.USE_CPU,)),
    )
    assert report.schedulers == backend.schedulers


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


async def collect_events(service: GenerationService, job_id: str) -> list[JobEvent]:
    return [event async for event in service.subscribe(job_id)]


def test_a_failing_start_record_still_ends_the_job_and_the_next_job_runs() -> None:
    store = FakeHistoryStore(write_errors=[RuntimeError("history disk gone")])
    service, _ = make_service(FakeBackend(), history_store=store)

    async def scenario() -> None:
        first = service.queue.accept(small(num_inference_steps=2))
        first_events = asyncio.create_task(collect_events(service, first.id))
        second = service.queue.accept(small(num_inference_steps=2))
        # Final in memory comes before the final record is written: wait for the record.
        await until(lambda: store.records.get(second.id, {}).get("status") == "succeeded")
        assert (first.status, second.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
        assert (await asyncio.wait_for(first_events, 5))[-1].kind == "succeeded"

    run(service, scenario)
    assert {job_id: record["status"] for job_id, record in store.records.items()} == {
        "job0": "succeeded",
        "job1": "succeeded",
    }


def test_a_failing_retention_pass_does_not_stop_the_worker() -> None:
    # As when `DELETE /images` removed the record the pass was about to remove.
    store = FakeHistoryStore(delete_errors=[ImageNotFound("No image record job0.")])
    service, _ = make_service(
        FakeBackend(), history_store=store, retention=RetentionPolicy(max_images=1)
    )

    async def scenario() -> None:
        jobs = [service.queue.accept(small(num_inference_steps=2)) for _ in range(3)]
        # The last job's record and retention pass come after it is final in memory.
        await until(
            lambda: (
                list(store.records) == ["job2"] and store.records["job2"]["status"] == "succeeded"
            )
        )
        assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 3

    run(service, scenario)


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


def test_a_late_subscriber_to_a_failed_job_gets_its_error_first() -> None:
    service, _ = make_service(FakeBackend(error=RuntimeError("device lost")))

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=2))
        await service.queue.wait(job)
        late = await collect_events(service, job.id)
        assert [event.kind for event in late] == ["failed"]
        error = late[0].data["error"]
        assert (error.type, error.message) == (
            JobErrorType.GENERATION_FAILED,
            f"Generation failed; the server log has the details for job {job.id}.",
        )

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
