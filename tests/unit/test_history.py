from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from application.history import History
from application.job_records import job_from_record, job_record
from application.ports import ModelStatus, RenderedImage
from domain.errors import ImageNotFound, InvalidTransition
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job, JobStatus
from domain.retention import RetentionPolicy, expired_jobs
from tests.support.fakes import FakeHistoryStore, FakeImageStore

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
