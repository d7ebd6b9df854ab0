"""The generation service wired for edits: fake uploads and fake edit pixels beside the
fakes `running_service.make_service` uses."""

from __future__ import annotations

from typing import Any

from application.generation_service import GenerationService
from application.history import History
from application.upload_pruning import UploadPruning
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage
from domain.retention import RetentionPolicy
from tests.support.fakes import (
    FakeBackend,
    FakeClock,
    FakeEditPixels,
    FakeHistoryStore,
    FakeImageStore,
    FakeModelStore,
    FakeUploadStore,
)


def make_edit_service(
    backend: FakeBackend,
    uploads: FakeUploadStore | None = None,
    *,
    retention: RetentionPolicy | None = None,
    clock: FakeClock | None = None,
    history_store: FakeHistoryStore | None = None,
) -> tuple[GenerationService, FakeImageStore, FakeEditPixels]:
    images = FakeImageStore()
    uploads = uploads or FakeUploadStore()
    policy = retention or RetentionPolicy()
    pixels = FakeEditPixels(uploads)
    ids = iter(f"job{n}" for n in range(100))
    service = GenerationService(
        images,
        FakeModelStore(),
        History(history_store or FakeHistoryStore(), images, policy),
        device_target="CPU",
        timeout_seconds=30.0,
        clock=clock or FakeClock(),
        new_job_id=lambda: next(ids),
        new_seed=lambda: 1234,
        edit_pixels=pixels,
        upload_pruning=UploadPruning(uploads, policy),
    )
    service.readiness.attach(backend)
    return service, images, pixels


def stored_input(uploads: FakeUploadStore, width: int = 64, height: int = 64) -> InputImage:
    """An upload of that size, as the request holds it."""
    upload = uploads.add(f"IMG{width}x{height}".encode(), None)
    return InputImage(upload.id, upload.sha256, upload.width, upload.height)


def edit_request(**values: Any) -> GenerationRequest:
    """A cheap edit: 64x64 unless told otherwise."""
    return GenerationRequest(**{"prompt": "x", "width": 64, "height": 64, **values})
