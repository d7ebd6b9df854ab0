from __future__ import annotations

import errno
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from application.history import History
from application.job_records import job_from_record, job_record
from application.ports import ModelStatus, RenderedImage
from domain.errors import ImageNotFound, InvalidTransition
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job, JobStatus
from domain.retention import RetentionPolicy, expired_jobs
from tests.support.fakes import FakeHistoryStore, FakeImageStore
from tests.support.waiting import wait_until

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
MODEL = ModelStatus("OpenVINO/m", Path("/m"), cached=True, revision="abc")


def finished_job(job_id: str, days_ago: float, images: int = 1) -> Job:
    created = NOW - timedelta(days=days_ago)
    job = Job(
        id=job_id,
        request=GenerationRequest(prompt="p", seed=1, num_images=images),
        seed=1,
        created_at=created,
    )
    job.start(created, "mock", "mock", mock=True)
    refs = [ImageRef(f"{job_id}-{n}.png", 1 + n, 512, 512) for n in range(images)]
    job.succeed(created + timedelta(seconds=2), refs, device="mock")
    return job


def test_record_round_trips_a_job() -> None:
    job = finished_job("a", 1, images=2)
    record = job_record(job, {"repo_id": "r", "revision": "x"}, {"engine": "mock"})
    again = job_from_record(record)
    assert again == job
    assert record["model"] == {"repo_id": "r", "revision": "x"}


def test_unreadable_records_are_skipped() -> None:
    assert job_from_record({"job_id": "x"}) is None
    assert (
        job_from_record({**job_record(finished_job("a", 1), {}, {}), "request": {"prompt": ""}})
        is None
    )


def test_retention_by_count_removes_oldest_whole_jobs() -> None:
    jobs = [finished_job("old", 3, images=2), finished_job("mid", 2), finished_job("new", 1)]
    expired = expired_jobs(jobs, RetentionPolicy(max_images=2), NOW)
    assert [job.id for job in expired] == ["old"]
    assert expired_jobs(jobs, RetentionPolicy(max_images=0), NOW) == sorted(
        jobs, key=lambda job: job.created_at
    )


def test_retention_by_age_and_never_running_jobs() -> None:
    running = Job(
        id="run", request=GenerationRequest(prompt="p"), seed=1, created_at=NOW - timedelta(days=30)
    )
    running.start(NOW, "mock", "mock", mock=True)
    jobs = [finished_job("old", 10), finished_job("new", 1), running]
    expired = expired_jobs(jobs, RetentionPolicy(max_age_days=7), NOW)
    assert [job.id for job in expired] == ["old"]
    assert not RetentionPolicy().enabled
    assert expired_jobs(jobs, RetentionPolicy(), NOW) == []


def test_history_recovers_interrupted_jobs_and_removes_their_files() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    history = History(store, images, RetentionPolicy())
    done = finished_job("done", 2)
    history.record(done, MODEL, {"engine": "mock"})
    interrupted = Job(id="cut", request=GenerationRequest(prompt="p"), seed=3, created_at=NOW)
    interrupted.start(NOW, "openvino", "CPU", mock=False)
    history.record(interrupted, MODEL, {"engine": "genai"})

    restarted = History(store, images, RetentionPolicy())
    jobs = restarted.recover(NOW + timedelta(hours=1))
    assert [job.id for job in jobs] == ["cut", "done"]
    assert jobs[0].status is JobStatus.FAILED
    assert jobs[0].error is not None and jobs[0].error.type == "interrupted"
    assert store.records["cut"]["status"] == "failed"
    assert store.records["cut"]["engine"] == {"engine": "genai"}
    untouched = History(store, images, RetentionPolicy())
    assert untouched.recover(NOW, mark_interrupted=False)[0].status is JobStatus.FAILED


def test_recovery_removes_images_an_interrupted_batch_saved_before_its_final_record() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    history = History(store, images, RetentionPolicy())
    cut = Job(id="cut", request=GenerationRequest(prompt="p", num_images=3), seed=3, created_at=NOW)
    cut.start(NOW, "openvino", "CPU", mock=False)
    history.record(cut, MODEL, {})  # as at the start: no image listed yet
    pixel = RenderedImage(1, 1, b"\x00\x00\x00", 3)
    for name in ("cut-0.png", "cut-1.png", "other.png"):
        images.save(name, pixel, {})

    History(store, images, RetentionPolicy()).recover(NOW + timedelta(hours=1))
    assert sorted(images.saved) == ["other.png"]


def test_listing_pagination_and_delete() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    history = History(store, images, RetentionPolicy())
    for index in range(5):
        history.record(finished_job(f"j{index}", 5 - index), MODEL, {})
    assert [job.id for job in history.with_images(2)] == ["j4", "j3"]
    assert [job.id for job in history.with_images(2, before="j3")] == ["j2", "j1"]
    with pytest.raises(ImageNotFound):
        history.with_images(2, before="nope")
    history.delete("j4")
    assert "j4" not in store.records and "j4-0.png" not in images.saved
    with pytest.raises(ImageNotFound):
        history.get("j4")


def test_a_running_job_cannot_be_deleted() -> None:
    history = History(FakeHistoryStore(), FakeImageStore(), RetentionPolicy())
    job = Job(id="r", request=GenerationRequest(prompt="p"), seed=1, created_at=NOW)
    job.start(NOW, "mock", "mock", mock=True)
    history.record(job, MODEL, {})
    with pytest.raises(InvalidTransition):
        history.delete("r")


def test_retention_after_records_deletes_images_and_records() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    history = History(store, images, RetentionPolicy(max_images=1))
    for index in range(3):
        history.record(finished_job(f"j{index}", 3 - index), MODEL, {})
    removed = history.apply_retention(NOW)
    assert [job.id for job in removed] == ["j0", "j1"]
    assert sorted(store.records) == ["j2"]


def test_a_failed_record_is_written_again_while_no_other_write_comes() -> None:
    """A freed disk heals on its own: the record does not wait for the next job."""
    store = FakeHistoryStore(write_errors=[OSError(errno.ENOSPC, "No space left on device")])
    history = History(store, FakeImageStore(), RetentionPolicy(), retry_seconds=0.01)
    try:
        history.record_soon(finished_job("done", 1)).result()
        assert not store.write_errors  # the write failed
        wait_until(lambda: "done" in store.records, "the record written again")
    finally:
        history.close()
    assert store.records["done"]["status"] == "succeeded"


def test_close_writes_a_failed_record_again() -> None:
    store = FakeHistoryStore(write_errors=[OSError(errno.ENOSPC, "No space left on device")])
    history = History(store, FakeImageStore(), RetentionPolicy())
    history.record_soon(finished_job("done", 1)).result()
    assert "done" not in store.records
    history.close()
    assert store.records["done"]["status"] == "succeeded"


class BlockedStore(FakeHistoryStore):
    """Every write waits until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        self.writing.set()
        self.release.wait()
        super().write(job_id, record)


def test_the_event_loops_calls_never_wait_for_a_write_in_progress() -> None:
    store = BlockedStore()
    history = History(store, FakeImageStore(), RetentionPolicy())
    history.record_soon(finished_job("slow", 2))
    returned = threading.Event()

    def from_the_event_loop() -> None:
        history.record_soon(finished_job("next", 1))
        history.with_images(10)
        history.jobs()
        history.get("slow")
        returned.set()

    try:
        assert store.writing.wait(10)
        threading.Thread(target=from_the_event_loop, daemon=True).start()
        # The bound only keeps a broken build from hanging: a lock held across the
        # write would block these calls until the release below.
        assert returned.wait(10), "record_soon waited for the store"
        assert store.records == {}
    finally:
        store.release.set()
        history.close()
    assert sorted(store.records) == ["next", "slow"]


def test_jobs_of_one_moment_keep_their_order_and_pages_skip_none() -> None:
    store, images = FakeHistoryStore(), FakeImageStore()
    history = History(store, images, RetentionPolicy())
    names = ["k", "c", "x", "a", "m"]  # recorded in this order, all at the same moment
    for name in names:
        history.record(finished_job(name, 1), MODEL, {})
    assert [job.id for job in history.jobs()] == names[::-1]
    pages: list[str] = []
    before: str | None = None
    while page := history.with_images(2, before=before):
        pages += [job.id for job in page]
        before = page[-1].id
    assert pages == names[::-1]
    again = History(store, images, RetentionPolicy())
    again.recover(NOW)
    assert [job.id for job in again.jobs()] == names[::-1]
    assert [store.records[name]["accepted_seq"] for name in names] == [0, 1, 2, 3, 4]
