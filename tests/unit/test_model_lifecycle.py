"""The model's way from missing to ready, with fakes of the store and the backend.

These tests assert on the problem the service reports (facts and remedies); the words
people read are `entrypoints/remedies.py`'s, tested over HTTP and in the CLI.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from application.generation_service import GenerationService
from application.history import History
from application.model_lifecycle import ModelLifecycle
from application.ports import DownloadProgress, ImageBackend, ModelStatus
from domain.errors import Problem, Remedy, ServiceUnavailable
from domain.generation_request import GenerationRequest
from domain.retention import RetentionPolicy
from tests.support.fakes import FakeBackend, FakeHistoryStore, FakeImageStore, FakeModelStore

STAGING = (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE)


class SlowStore(FakeModelStore):
    """Downloads in two reported halves, pausing in between until released."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(cached=False)
        self.halfway = threading.Event()
        self.release = threading.Event()
        self.error = error

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        assert on_progress is not None
        on_progress(500_000_000, 1_000_000_000)
        self.halfway.set()
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        return super().download(force)


def make(
    store: FakeModelStore, auto: bool, load: object = None
) -> tuple[GenerationService, ModelLifecycle, list[str]]:
    images = FakeImageStore()
    history = History(FakeHistoryStore(), images, RetentionPolicy())
    service = GenerationService(images, store, history, device_target="GPU", timeout_seconds=5)
    offline_calls: list[str] = []

    def load_backend() -> ImageBackend:
        if isinstance(load, Exception):
            raise load
        return FakeBackend()

    lifecycle = ModelLifecycle(
        service.readiness,
        store,
        load_backend,
        auto_download=auto,
        go_offline=lambda: offline_calls.append("offline"),
    )
    return service, lifecycle, offline_calls


async def start(lifecycle: ModelLifecycle) -> None:
    """What the server's lifespan does: check before serving, then bring the model up."""
    if await lifecycle.check():
        await lifecycle.bring_up()


def reason_of(service: GenerationService) -> Problem:
    health = service.health()
    assert not health.ready and health.reason is not None
    return health.reason


def test_present_model_loads_and_goes_offline() -> None:
    service, lifecycle, offline = make(FakeModelStore(cached=True), auto=False)
    asyncio.run(start(lifecycle))
    assert service.health().ready
    assert offline == ["offline"]


def test_missing_model_without_auto_download_stays_degraded_with_remedies() -> None:
    store = FakeModelStore(cached=False)
    service, lifecycle, offline = make(store, auto=False)
    asyncio.run(start(lifecycle))
    reason = reason_of(service)
    assert "not in" in reason.message and str(FakeModelStore.directory) in reason.message
    assert reason.remedies == (Remedy.DOWNLOAD_MODEL, Remedy.DOWNLOAD_AT_START, Remedy.DEMO_MODE)
    assert store.downloads == 0 and offline == []


def test_check_alone_settles_a_missing_model_and_leaves_the_rest_to_bring_up() -> None:
    missing_service, missing, _ = make(FakeModelStore(cached=False), auto=False)
    present_service, present, offline = make(FakeModelStore(cached=True), auto=False)
    assert asyncio.run(missing.check()) is False
    assert Remedy.DOWNLOAD_MODEL in reason_of(missing_service).remedies
    assert asyncio.run(present.check()) is True
    assert not present_service.health().ready and offline == []
    asyncio.run(present.bring_up())
    assert present_service.health().ready


def test_the_load_in_progress_is_known_until_its_thread_ends() -> None:
    seen: list[str | None] = []
    store = FakeModelStore(cached=True)
    service, _, _ = make(store, auto=False)

    def load_backend() -> ImageBackend:
        seen.append(lifecycle.work_in_progress)
        return FakeBackend()

    lifecycle = ModelLifecycle(service.readiness, store, load_backend, auto_download=False)
    assert lifecycle.work_in_progress is None
    asyncio.run(start(lifecycle))
    assert seen == ["load"] and lifecycle.work_in_progress is None
    assert service.health().ready


def test_auto_download_reports_percent_then_becomes_ready() -> None:
    store = SlowStore()
    service, lifecycle, _ = make(store, auto=True)

    async def scenario() -> None:
        task = asyncio.create_task(start(lifecycle))
        await asyncio.to_thread(store.halfway.wait, 5)
        reason = reason_of(service)
        assert "Downloading" in reason.message and "50%" in reason.message
        with pytest.raises(ServiceUnavailable, match="50%"):
            service.queue.accept(GenerationRequest(prompt="x"))
        store.release.set()
        await task

    asyncio.run(scenario())
    assert service.health().ready


def failed_download_reason(error: Exception) -> Problem:
    store = SlowStore(error=error)
    store.release.set()
    service, lifecycle, _ = make(store, auto=True)
    asyncio.run(start(lifecycle))
    return reason_of(service)


def test_failed_download_keeps_its_remedies_and_adds_the_way_around_the_hub() -> None:
    gated = ServiceUnavailable("The repo is gated.", remedies=(Remedy.SET_HUB_TOKEN,))

    reason = failed_download_reason(gated)

    assert reason.message == "The model download failed: The repo is gated."
    assert reason.remedies == (Remedy.SET_HUB_TOKEN, *STAGING)


def test_unexpected_download_error_still_says_what_to_do() -> None:
    reason = failed_download_reason(RuntimeError("boom"))

    assert "server log" in reason.message and "boom" not in reason.message
    assert reason.remedies == STAGING


def test_a_remedy_the_failure_already_names_is_not_repeated() -> None:
    unreachable = ServiceUnavailable("Cannot reach the model hub.", remedies=STAGING)

    assert failed_download_reason(unreachable).remedies == STAGING


def test_load_failure_leaves_degraded_with_the_errors_problem() -> None:
    needs_optimum = ServiceUnavailable(
        "This export needs the optimum engine.", remedies=(Remedy.INSTALL_OPTIMUM,)
    )
    service, lifecycle, _ = make(FakeModelStore(cached=True), auto=False, load=needs_optimum)
    asyncio.run(start(lifecycle))
    assert reason_of(service) == needs_optimum.problem


def test_unexpected_load_failure_points_at_a_fresh_download() -> None:
    service, lifecycle, _ = make(FakeModelStore(cached=True), auto=False, load=OSError("/x"))
    asyncio.run(start(lifecycle))
    reason = reason_of(service)
    assert "/x" not in reason.message and reason.remedies == (Remedy.DOWNLOAD_MODEL,)
