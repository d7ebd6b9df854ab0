"""Accepted work is not lost: records from acceptance on, the line rebuilt at the next start."""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from application.generation_service import GenerationService
from application.history import History
from application.job_events import JobEvent
from domain.errors import (
    ClientQueueFull,
    InsufficientStorage,
    JobNotFound,
    QueueFull,
    ServiceUnavailable,
)
from domain.job import JobErrorType, JobStatus
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeClock,
    FakeHistoryStore,
    FakeImageStore,
    FakeModelStore,
)
from tests.support.running_service import make_service, run, small, until


class FailingStore(FakeHistoryStore):
    """Fails the first writes of records in the given states, and says which it failed."""

    def __init__(self, fail: dict[str, int]) -> None:
        super().__init__()
        self.fail = fail
        self.failed: list[tuple[str, str]] = []

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        status = str(record["status"])
        if self.fail.get(status, 0) > 0:
            self.fail[status] -= 1
            self.failed.append((job_id, status))
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(job_id, record)


class BlockingStore(FakeHistoryStore):
    """Its first write waits until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        if not self.writing.is_set():
            self.writing.set()
            self.release.wait()
        super().write(job_id, record)


def restarted(store: FakeHistoryStore, max_queue: int = 16, **kwargs: object) -> GenerationService:
    """A new service on the same records, as after a restart, its history recovered."""
    images = FakeImageStore()
    ids = iter(f"new{n}" for n in range(100))
    service = GenerationService(
        images,
        FakeModelStore(),
        History(store, images, RetentionPolicy(**kwargs)),  # type: ignore[arg-type]
        device_target="CPU",
        timeout_seconds=30.0,
        max_queue=max_queue,
        clock=FakeClock(),
        new_job_id=lambda: next(ids),
    )
    service.recover_history()
    return service


def stopped_with_waiting_jobs(count: int) -> tuple[FakeHistoryStore, list[str]]:
    """A service stopped cleanly while one job ran and ``count`` waited."""
    store, clock = FakeHistoryStore(), FakeClock()
    service, _ = make_service(FakeBackend(hold=threading.Event()), history_store=store, clock=clock)
    ids: list[str] = []

    async def scenario() -> None:
        for n in range(count + 1):
            ids.append(service.queue.accept(small(prompt=f"p{n}", seed=n), owner=f"o{n}").id)
            clock.advance(1)
        await until(lambda: service.queue.running is not None, "the first job to run")

    run(service, scenario)
    return store, ids


def test_a_record_is_written_at_acceptance_and_cancelling_a_queued_job_updates_it() -> None:
    store = FakeHistoryStore()
    service, _ = make_service(None, history_store=store)
    service.readiness.attach(FakeBackend(hold=threading.Event()))

    async def scenario() -> None:
        first = service.queue.accept(small(), owner="alice")
        second = service.queue.accept(small())
        await until(lambda: store.records.get(second.id, {}).get("status") == "queued")
        assert store.records[first.id]["owner"] == "alice"
        service.cancel(second.id)
        await until(lambda: store.records[second.id]["status"] == "cancelled")

    run(service, scenario)


def test_after_a_restart_waiting_jobs_run_in_their_order_with_their_ids_seeds_and_owners() -> None:
    store, ids = stopped_with_waiting_jobs(3)
    service = restarted(store)
    backend = FakeBackend()
    positions: list[JobEvent] = []

    async def scenario() -> None:
        # Queued again at start, before the backend is there: they wait for it.
        assert [job.id for job in service.queue.waiting] == ids[1:]
        assert service.queue.position(service.get(ids[3])) == 3
        stream = service.subscribe(ids[3])
        positions.append(await anext(stream))
        service.readiness.attach(backend)
        await until(lambda: service.get(ids[3]).status is JobStatus.SUCCEEDED)

    run(service, scenario)
    assert positions[0].data == {"queue_position": 3}
    assert [(request.prompt, seed) for request, seed in backend.calls] == [
        ("p1", 1),
        ("p2", 2),
        ("p3", 3),
    ]
    assert [service.get(job_id).owner for job_id in ids[1:]] == ["o1", "o2", "o3"]
    interrupted = service.get(ids[0])
    assert interrupted.status is JobStatus.FAILED
    assert interrupted.error is not None and interrupted.error.type is JobErrorType.INTERRUPTED


def test_more_waiting_jobs_than_the_queue_holds_are_all_kept_and_new_ones_refused() -> None:
    store, ids = stopped_with_waiting_jobs(4)
    service = restarted(store, max_queue=2)
    backend = FakeBackend(hold=threading.Event())
    service.readiness.attach(backend)

    async def scenario() -> None:
        assert [job.id for job in service.queue.waiting] == ids[1:]
        with pytest.raises(QueueFull):
            service.queue.accept(small())

    run(service, scenario)


def test_retention_never_removes_a_queued_jobs_record() -> None:
    store, ids = stopped_with_waiting_jobs(2)
    service = restarted(store, max_images=0, max_age_days=0.0001)

    async def scenario() -> None:
        assert [job.id for job in service.queue.waiting] == ids[1:]

    run(service, scenario)
    assert {ids[1], ids[2]} <= set(store.records)


def test_a_record_that_cannot_be_written_is_written_again_with_the_next_change() -> None:
    store = FailingStore(fail={"running": 1})
    service, _ = make_service(FakeBackend(), history_store=store)

    async def scenario() -> None:
        first = service.queue.accept(small(num_inference_steps=1))
        await until(lambda: store.records.get(first.id, {}).get("status") == "succeeded")
        second = service.queue.accept(small(num_inference_steps=1))
        await until(lambda: store.records.get(second.id, {}).get("status") == "succeeded")

    run(service, scenario)
    assert store.failed == [("job0", "running")]
    assert {record["status"] for record in store.records.values()} == {"succeeded"}


def test_a_final_record_that_failed_is_written_at_the_stop_with_no_other_write() -> None:
    """Else the job would be "running" on disk: interrupted at the next start, its images
    deleted, although its client was told it succeeded."""
    store = FailingStore(fail={"succeeded": 1})
    service, _ = make_service(FakeBackend(), history_store=store)

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=1))
        await until(lambda: (job.id, "succeeded") in store.failed, "the failed write")

    run(service, scenario)
    assert store.records["job0"]["status"] == "succeeded"


def test_a_cancelled_jobs_record_that_failed_is_written_at_the_stop() -> None:
    store = FailingStore(fail={"cancelled": 1})
    service, _ = make_service(FakeBackend(hold=threading.Event()), history_store=store)

    async def scenario() -> None:
        service.queue.accept(small())
        waiting = service.queue.accept(small())
        await until(lambda: waiting.id in store.records, "the queued record")
        service.cancel(waiting.id)
        await until(lambda: (waiting.id, "cancelled") in store.failed, "the failed write")

    run(service, scenario)
    # Not queued on disk, so not run again after a restart.
    assert store.records["job1"]["status"] == "cancelled"


def test_a_record_still_unwritable_at_the_stop_is_logged_by_job() -> None:
    store = FailingStore(fail={"succeeded": 100})
    service, _ = make_service(FakeBackend(), history_store=store)

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=1))
        await until(lambda: (job.id, "succeeded") in store.failed, "the failed write")

    with capture_logs() as logs:
        run(service, scenario)
    lost = [line for line in logs if line["event"] == "history_record_not_written"]
    assert [(line["job_id"], line["status"]) for line in lost] == [("job0", "succeeded")]
    assert store.records["job0"]["status"] == "running"


def test_jobs_accepted_within_one_clock_tick_come_back_in_their_order() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    ids = iter(["c", "b", "e", "a", "d"])  # not in the order of their names
    service = GenerationService(
        images,
        FakeModelStore(),
        History(store, images, RetentionPolicy()),
        device_target="CPU",
        timeout_seconds=30.0,
        clock=FakeClock(),  # never moves: every job has the same created_at
        new_job_id=lambda: next(ids),
    )
    service.readiness.attach(FakeBackend(hold=threading.Event()))

    async def scenario() -> None:
        for n in range(5):
            service.queue.accept(small(prompt=f"p{n}"))

        await until(lambda: service.queue.running is not None, "the first job to run")

    run(service, scenario)
    assert [job.id for job in restarted(store).history.waiting()] == ["b", "e", "a", "d"]


def test_records_from_before_the_sequence_number_still_read_and_queue_first() -> None:
    store, ids = stopped_with_waiting_jobs(2)
    old = store.records[ids[2]]
    del old["accepted_seq"]
    old["created_at"] = store.records[ids[1]]["created_at"]
    assert [job.id for job in restarted(store).history.waiting()] == [ids[2], ids[1]]


def test_post_jobs_answers_once_the_record_is_on_disk() -> None:
    store = BlockingStore()
    service, _ = make_service(FakeBackend(hold=threading.Event()), history_store=store)

    async def scenario() -> None:
        accepting = asyncio.ensure_future(service.queue.accept_recorded(small()))
        await asyncio.to_thread(store.writing.wait)
        assert not accepting.done()
        assert service.queue.running is None  # and the job does not start before either
        store.release.set()
        job = await accepting
        assert job.id in store.records

    run(service, scenario)


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), InsufficientStorage),
        (PermissionError(errno.EACCES, "Permission denied"), ServiceUnavailable),
    ],
)
def test_a_job_whose_record_cannot_be_written_is_refused_and_never_runs(
    error: OSError, refusal: type[Exception]
) -> None:
    store = FakeHistoryStore(write_errors=[error])
    backend = FakeBackend()
    service, images = make_service(backend, history_store=store)

    async def scenario() -> None:
        with pytest.raises(refusal) as refused:
            await service.queue.accept_recorded(small(prompt="refused"))
        # Where it could not be written, as a full disk's 507 says for images.
        assert f"in {images.directory}" in str(refused.value)
        with pytest.raises(JobNotFound):
            service.get("job0")
        assert service.queue.waiting == ()
        later = await service.queue.accept_recorded(small(prompt="later"))
        await until(lambda: later.status is JobStatus.SUCCEEDED)

    run(service, scenario)
    assert [request.prompt for request, _ in backend.calls] == ["later"]
    assert sorted(store.records) == ["job1"]


def test_records_reach_the_store_in_the_order_of_the_changes() -> None:
    statuses: list[str] = []

    class Recording(FakeHistoryStore):
        def write(self, job_id: str, record: object) -> None:
            statuses.append(record["status"])  # type: ignore[index]
            super().write(job_id, record)  # type: ignore[arg-type]

    store = Recording()
    service, _ = make_service(FakeBackend(), history_store=store)

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=2))
        await until(lambda: store.records.get(job.id, {}).get("status") == "succeeded")

    run(service, scenario)
    assert statuses == ["queued", "running", "succeeded"]


def test_retry_after_comes_from_the_pace_of_recent_jobs_and_the_line_ahead() -> None:
    clock = FakeClock()
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend, max_queue=2, clock=clock)
    service.queue.per_client = 1

    async def scenario() -> None:
        # One job of 10 steps took 20 s: 2 s a step.
        done = service.queue.accept(small(num_inference_steps=10))
        await until(lambda: done.status is JobStatus.RUNNING)
        clock.advance(20)
        assert backend.hold is not None
        backend.hold.set()
        await until(lambda: done.status is JobStatus.SUCCEEDED)
        backend.hold.clear()
        running = service.queue.accept(small(num_inference_steps=5), owner="a")
        await until(lambda: running.status is JobStatus.RUNNING)
        service.queue.accept(small(num_inference_steps=3), owner="b")
        service.queue.accept(small(num_inference_steps=4), owner="c")
        with pytest.raises(QueueFull) as full:
            service.queue.accept(small(), owner="d")
        # The running job has 5 steps left: 10 s, not a fixed guess.
        assert full.value.retry_after_seconds == 10
        service.queue.capacity = 10
        with pytest.raises(ClientQueueFull) as mine:
            service.queue.accept(small(), owner="c")
        # c's job starts after the running one and b's: (5 + 3) steps x 2 s.
        assert mine.value.retry_after_seconds == 16
        backend.hold.set()

    run(service, scenario)


def test_a_stop_while_jobs_wait_keeps_them_queued_and_their_streams_end() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend)
    seen: list[str] = []

    async def scenario() -> None:
        service.queue.accept(small())
        waiting = service.queue.accept(small())
        await until(lambda: service.queue.running is not None)

        async def follow() -> None:
            async for event in service.subscribe(waiting.id):
                seen.append(event.kind)

        following = asyncio.ensure_future(follow())
        await until(lambda: bool(seen), "the queued event")
        service.begin_shutdown()
        await asyncio.wait_for(following, 5)

    run(service, scenario)
    assert seen == ["queued"]
