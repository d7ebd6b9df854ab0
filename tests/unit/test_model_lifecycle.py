from __future__ import annotations

import asyncio
import threading

import pytest

from application.generation_service import GenerationService
from application.history import History
from application.model_lifecycle import LifecyclePolicy, ModelLifecycle, staging_hint
from application.ports import ImageBackend, ModelStatus
from domain.errors import ModelDownloadFailed, ServiceUnavailable
from domain.generation_request import GenerationRequest
from domain.retention import RetentionPolicy
from tests.support.fakes import FakeBackend, FakeHistoryStore, FakeImageStore, FakeModelStore

HINT = "Run `make download`."


class SlowStore(FakeModelStore):
    """Downloads in two reported halves, pausing in between until released."""

    def __init__(self, lifecycle_ref: list[ModelLifecycle], error: Exception | None = None) -> None:
        super().__init__(cached=False)
        self.lifecycle_ref = lifecycle_ref
        self.halfway = threading.Event()
        self.release = threading.Event()
        self.error = error

    def download(self, force: bool = False) -> ModelStatus:
        self.lifecycle_ref[0].report_download(500_000_000, 1_000_000_000)
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
        service,
        store,
        load_backend,
        LifecyclePolicy(auto, HINT),
        go_offline=lambda: offline_calls.append("offline"),
    )
    return service, lifecycle, offline_calls


def test_present_model_loads_and_goes_offline() -> None:
    service, lifecycle, offline = make(FakeModelStore(cached=True), auto=False)
    asyncio.run(lifecycle.start())
    assert service.health().ready
    assert offline == ["offline"]


def test_missing_model_without_auto_download_stays_degraded_with_hint() -> None:
    store = FakeModelStore(cached=False)
    service, lifecycle, offline = make(store, auto=False)
    asyncio.run(lifecycle.start())
    health = service.health()
    assert not health.ready and health.reason is not None
    assert "not in" in health.reason and HINT in health.reason
    assert store.downloads == 0 and offline == []


def test_check_alone_settles_a_missing_model_and_leaves_the_rest_to_bring_up() -> None:
    missing_service, missing, _ = make(FakeModelStore(cached=False), auto=False)
    present_service, present, offline = make(FakeModelStore(cached=True), auto=False)
    assert asyncio.run(missing.check()) is False
    reason = missing_service.health().reason
    assert reason is not None and HINT in reason
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

    lifecycle = ModelLifecycle(service, store, load_backend, LifecyclePolicy(False, HINT))
    assert lifecycle.work_in_progress is None
    asyncio.run(lifecycle.start())
    assert seen == ["load"] and lifecycle.work_in_progress is None
    assert service.health().ready


def test_auto_download_reports_percent_then_becomes_ready() -> None:
    ref: list[ModelLifecycle] = []
    store = SlowStore(ref)
    service, lifecycle, _ = make(store, auto=True)
    ref.append(lifecycle)

    async def scenario() -> None:
        task = asyncio.create_task(lifecycle.start())
        await asyncio.to_thread(store.halfway.wait, 5)
        reason = service.health().reason
        assert reason is not None and "Downloading" in reason and "50%" in reason
        with pytest.raises(ServiceUnavailable, match="50%"):
            await service.generate(GenerationRequest(prompt="x"))
        store.release.set()
        await task

    asyncio.run(scenario())
    assert service.health().ready


def failed_download_reason(error: Exception) -> str:
    ref: list[ModelLifecycle] = []
    store = SlowStore(ref, error=error)
    store.release.set()
    service, lifecycle, _ = make(store, auto=True)
    ref.append(lifecycle)
    asyncio.run(lifecycle.start())
    health = service.health()
    assert not health.ready and health.reason is not None
    return health.reason


def test_failed_download_says_how_to_stage_the_model_and_start_the_demo() -> None:
    reason = failed_download_reason(ModelDownloadFailed("gated", "The repo is gated."))

    assert reason.startswith("The model download failed: The repo is gated. ")
    assert "stage the model by hand" in reason
    assert str(FakeModelStore.directory) in reason and "MODEL_DIR" in reason
    assert "`make demo` (USE_MOCKS=true)" in reason


def test_unexpected_download_error_still_says_what_to_do() -> None:
    reason = failed_download_reason(RuntimeError("boom"))

    assert "server log" in reason and "boom" not in reason
    assert "stage the model by hand" in reason and "`make demo`" in reason


def test_staging_hint_already_in_the_failure_is_not_repeated() -> None:
    hint = staging_hint(FakeModelStore.repo_id, FakeModelStore.directory)
    error = ModelDownloadFailed("unreachable", f"Cannot reach the model hub. {hint}")

    reason = failed_download_reason(error)

    assert reason == f"The model download failed: Cannot reach the model hub. {hint}"


def test_load_failure_leaves_degraded_with_the_error_message() -> None:
    service, lifecycle, _ = make(
        FakeModelStore(cached=True),
        auto=False,
        load=ServiceUnavailable("This export needs the optimum engine: pip install -e .[optimum]"),
    )
    asyncio.run(lifecycle.start())
    assert service.health().reason == (
        "This export needs the optimum engine: pip install -e .[optimum]"
    )
