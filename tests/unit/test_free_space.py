"""A full disk is not an engine failure: free space read, refused below the floor, recovered."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from application.free_space import FreeSpace, free_bytes_at, is_disk_full
from application.generation_service import GenerationService
from application.history import History
from application.ports import RenderedImage
from domain.errors import GenerationFailed, InsufficientStorage
from domain.job import JobErrorType, JobStatus
from domain.retention import RetentionPolicy
from tests.support.fakes import FakeBackend, FakeHistoryStore, FakeImageStore, FakeModelStore
from tests.support.running_service import generate, run, small

MB = 1024 * 1024


class Disk:
    """A disk whose free space the test sets; counts how often it is read."""

    def __init__(self, free_mb: int) -> None:
        self.free_mb = free_mb
        self.reads = 0

    def __call__(self, folder: Path) -> int:
        self.reads += 1
        return self.free_mb * MB


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FullAfter(FakeImageStore):
    """Saves ``room`` images, then fails as a full disk (or with ``error``)."""

    def __init__(self, room: int, error: OSError | None = None) -> None:
        super().__init__()
        self.room = room
        self.error = error or OSError(errno.ENOSPC, "No space left on device")

    def save(self, name: str, image: RenderedImage, text_chunks: object) -> None:
        if len(self.saved) >= self.room:
            raise self.error
        super().save(name, image, text_chunks)  # type: ignore[arg-type]


def service_on(images: FakeImageStore, disk: Disk, min_free_mb: int = 100) -> GenerationService:
    service = GenerationService(
        images,
        FakeModelStore(),
        History(FakeHistoryStore(), images, RetentionPolicy()),
        device_target="CPU",
        timeout_seconds=30.0,
        model_dir=Path("/nonexistent/models"),
        min_free_mb=min_free_mb,
        free_bytes=disk,
    )
    service.readiness.attach(FakeBackend())
    return service


def test_readings_are_cached_for_a_moment_and_fresh_after_it() -> None:
    disk, clock = Disk(50), Clock()
    space = FreeSpace({"generated": Path("/g")}, 100, free_bytes=disk, clock=clock)
    with pytest.raises(InsufficientStorage, match=r"50 MB free in /g \(generated\)"):
        space.check()
    disk.free_mb = 500
    with pytest.raises(InsufficientStorage):
        space.check()  # the cached reading still says 50
    assert disk.reads == 1
    clock.now += 5
    space.check()  # freed: let in again by itself
    assert disk.reads == 2


def test_a_folder_not_made_yet_is_measured_at_its_nearest_existing_parent(tmp_path: Path) -> None:
    assert free_bytes_at(tmp_path / "not" / "yet") > 0


def test_disk_full_as_each_system_says_it() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    windows = OSError(errno.EINVAL, "There is not enough space on the disk")
    windows.winerror = 112  # type: ignore[attr-defined]
    assert is_disk_full(windows)
    assert not is_disk_full(PermissionError(errno.EACCES, "Permission denied"))


def test_below_the_floor_new_jobs_are_refused_and_health_is_degraded_until_space_is_freed() -> None:
    disk = Disk(10)
    service = service_on(FakeImageStore(), disk)
    with pytest.raises(InsufficientStorage, match="at least 100 MB"):
        service.queue.accept(small())
    health = service.health()
    assert health.status == "degraded" and health.reason is not None
    assert {(r.role, r.free_mb) for r in health.disk} == {("generated", 10), ("models", 10)}
    disk.free_mb = 1000
    service.free_space.free_mb_now(Path("/g"))  # as the cache's age passing does
    assert service.health().status == "ok"
    assert service.queue.accept(small()).status is JobStatus.QUEUED


def test_a_full_disk_fails_the_job_as_insufficient_storage_and_keeps_no_part_of_the_batch() -> None:
    images = FullAfter(room=1)
    service = service_on(images, Disk(500))

    async def scenario() -> None:
        with pytest.raises(InsufficientStorage, match=r"No space left in .*500 MB free"):
            await generate(service, small(num_images=3, num_inference_steps=1))

    run(service, scenario)
    job = service.queue.recent()[0]
    assert job.error is not None and job.error.type is JobErrorType.INSUFFICIENT_STORAGE
    assert images.saved == {}  # image 0 was written, then removed with its batch


def test_another_write_failure_is_a_storage_failure_and_the_next_job_still_runs() -> None:
    images = FullAfter(room=0, error=PermissionError(errno.EACCES, "Permission denied"))
    service = service_on(images, Disk(500))

    async def scenario() -> None:
        with pytest.raises(GenerationFailed, match="Permission denied"):
            await generate(service, small(num_inference_steps=1))
        images.room = 10
        second = await generate(service, small(num_inference_steps=1))
        assert second.status is JobStatus.SUCCEEDED

    run(service, scenario)
    first = service.queue.recent()[1]
    assert first.error is not None and first.error.type is JobErrorType.STORAGE_FAILED
