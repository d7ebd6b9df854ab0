"""Running one job: images and provenance, batches, failures, the deadline, events, records."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from application.job_events import JobEvent
from domain.errors import (
    GenerationFailed,
    GenerationTimeout,
    ImageNotFound,
    Remedy,
)
from domain.job import JobErrorType, JobStatus
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeClock,
    FakeHistoryStore,
)
from tests.support.running_service import (
    collect_events,
    generate,
    make_service,
    run,
    small,
    until,
)


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

    def generate(self, request, seed, on_progress, should_cancel, edit=None):  # type: ignore[no-untyped-def]
        self._clock.advance(self._seconds_on_gpu)
        self.device = "CPU"
        return super().generate(request, seed, on_progress, should_cancel, edit)


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


class FailingStartRecord(FakeHistoryStore):
    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        if job_id == "job0" and record["status"] == "running":
            raise RuntimeError("history disk gone")
        super().write(job_id, record)


def test_a_failing_start_record_still_ends_the_job_and_the_next_job_runs() -> None:
    store = FailingStartRecord()
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
