"""The running job's latest preview, for callers that poll instead of following events."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

from application.generation_service import GenerationService
from application.history import History
from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from application.preview_board import PreviewBoard
from domain.errors import GenerationCancelled
from domain.generation_request import GenerationRequest
from domain.job import Job, JobStatus
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeClock,
    FakeHistoryStore,
    FakeImageStore,
    FakeModelStore,
)
from tests.support.running_service import run, small, until


@dataclass
class PausingBackend(FakeBackend):
    """Reports each step with a preview, and holds after the first until released."""

    release: threading.Event = field(default_factory=threading.Event)

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        steps = request.denoising_steps
        for step in range(1, steps + 1):
            on_progress(step, steps, partial(_preview_of, step))
            while step == 1 and not self.release.wait(0.01):
                if should_cancel():
                    raise GenerationCancelled("Cancelled.")
        return RenderedImage(request.width, request.height, bytes(3 * 64 * 64), seed)


def _preview_of(step: int) -> bytes:
    return f"preview {step}".encode()


def service_with(backend: FakeBackend) -> GenerationService:
    images = FakeImageStore()
    service = GenerationService(
        images,
        FakeModelStore(),
        History(FakeHistoryStore(), images, RetentionPolicy()),
        device_target="CPU",
        timeout_seconds=30.0,
        preview_every=1,
        clock=FakeClock(),
    )
    service.readiness.attach(backend)
    return service


def test_the_latest_preview_is_kept_while_the_job_runs_and_dropped_when_it_ends() -> None:
    backend = PausingBackend()
    service = service_with(backend)
    expected = "data:image/jpeg;base64," + base64.b64encode(b"preview 1").decode()

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=3))
        assert service.latest_preview(job.id) is None  # queued: none yet
        await until(lambda: service.latest_preview(job.id) is not None, "the first preview")
        assert service.latest_preview(job.id) == expected
        backend.release.set()
        await service.queue.wait(job)
        assert job.step == 3
        assert service.latest_preview(job.id) is None

    run(service, scenario)


def test_a_cancelled_job_leaves_no_preview_behind() -> None:
    service = service_with(PausingBackend())

    async def scenario() -> None:
        job = service.queue.accept(small(num_inference_steps=3))
        await until(lambda: service.latest_preview(job.id) is not None, "the first preview")
        service.cancel(job.id)
        await service.queue.wait(job)
        assert job.status is JobStatus.CANCELLED
        assert service.latest_preview(job.id) is None
        assert service.latest_preview("no-such-job") is None

    run(service, scenario)


def test_a_preview_arriving_after_its_job_ended_is_not_kept() -> None:
    # The engine thread hands a preview to the event loop, which may run it after the end.
    board = PreviewBoard()
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    job = Job(id="j1", request=small(), seed=1, created_at=now)
    board.pin(job, "data:queued")
    assert board.latest("j1") is None
    job.start(now, "mock", "mock", mock=True)
    board.pin(job, "data:first")
    board.pin(job, "data:second")
    assert board.latest("j1") == "data:second"
    job.cancel(now)
    board.clear("j1")
    board.pin(job, "data:late")
    assert board.latest("j1") is None
