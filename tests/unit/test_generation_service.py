from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone

import pytest

from application.generation_service import GenerationService
from domain.errors import (
    GenerationFailed,
    GenerationTimeout,
    ServiceUnavailable,
    UnsupportedOption,
)
from domain.generation_request import GenerationRequest
from domain.job import JobStatus
from tests.support.fakes import FakeBackend, FakeImageStore, FakeModelStore


def make_service(
    backend: FakeBackend | None = None, timeout: float = 30.0
) -> tuple[GenerationService, FakeImageStore]:
    images = FakeImageStore()
    ids = iter(f"job{n}" for n in range(100))
    service = GenerationService(
        images,
        FakeModelStore(),
        device_target="GPU",
        timeout_seconds=timeout,
        clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc),
        new_job_id=lambda: next(ids),
        new_seed=lambda: 1234,
    )
    if backend is not None:
        service.attach_backend(backend)
    return service, images


def test_generates_and_stores_image_with_parameters() -> None:
    backend = FakeBackend()
    service, images = make_service(backend)
    job = asyncio.run(
        service.generate(GenerationRequest(prompt="fox", seed=42, width=64, height=64))
    )
    assert job.status is JobStatus.SUCCEEDED
    assert (job.seed, job.provider, job.device, job.mock) == (42, "fake", "CPU", False)
    assert [ref.name for ref in job.images] == ["job0.png"]
    image, chunks = images.saved["job0.png"]
    assert (image.width, image.height, image.seed) == (64, 64, 42)
    assert chunks["parameters"] == "fox\nSteps: 20, CFG scale: 7.5, Seed: 42, Size: 64x64"
    assert job.step == job.total_steps == 20


def test_missing_seed_is_chosen_and_reported() -> None:
    backend = FakeBackend()
    service, _ = make_service(backend)
    job = asyncio.run(service.generate(GenerationRequest(prompt="fox", width=64, height=64)))
    assert job.seed == 1234 and job.request.seed == 1234
    assert backend.calls[0][1] == 1234


def test_unavailable_backend_refuses_with_the_reason() -> None:
    service, _ = make_service()
    service.mark_unavailable("Model missing: run make download.")
    with pytest.raises(ServiceUnavailable, match="make download"):
        asyncio.run(service.generate(GenerationRequest(prompt="x")))
    assert service.health().status == "degraded"
    assert service.health().reason == "Model missing: run make download."


def test_unsupported_scheduler_is_refused_before_the_backend_runs() -> None:
    backend = FakeBackend(schedulers=("pndm", "euler"))
    service, _ = make_service(backend)
    with pytest.raises(UnsupportedOption) as caught:
        asyncio.run(service.generate(GenerationRequest(prompt="x", scheduler="ddim")))
    assert "pndm, euler" in caught.value.details[0].message
    assert backend.calls == []


def test_backend_error_becomes_generic_failure_and_service_keeps_serving() -> None:
    backend = FakeBackend(error=RuntimeError("/secret/path exploded"))
    service, images = make_service(backend)
    with pytest.raises(GenerationFailed) as caught:
        asyncio.run(service.generate(GenerationRequest(prompt="x", width=64, height=64)))
    assert "/secret/path" not in caught.value.message
    assert images.saved == {}
    backend.error = None
    job = asyncio.run(service.generate(GenerationRequest(prompt="x", width=64, height=64)))
    assert job.status is JobStatus.SUCCEEDED


def test_timeout_stops_the_backend_writes_nothing_and_frees_the_worker() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, images = make_service(backend, timeout=0.2)
    request = GenerationRequest(prompt="x", num_inference_steps=5, width=64, height=64)
    with pytest.raises(GenerationTimeout) as caught:
        asyncio.run(service.generate(request))
    assert "step 0 of 5 on CPU" in caught.value.message
    assert images.saved == {}
    backend.hold = None
    assert asyncio.run(service.generate(request)).status is JobStatus.SUCCEEDED


def test_concurrent_requests_run_one_at_a_time() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    class CountingBackend(FakeBackend):
        def generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            try:
                threading.Event().wait(0.02)
                return super().generate(*args, **kwargs)
            finally:
                with lock:
                    active -= 1

    service, images = make_service(CountingBackend())

    async def many() -> None:
        request = GenerationRequest(prompt="x", num_inference_steps=2, width=64, height=64)
        jobs = await asyncio.gather(*(service.generate(request) for _ in range(5)))
        assert all(job.status is JobStatus.SUCCEEDED for job in jobs)

    asyncio.run(many())
    assert peak == 1
    assert len(images.saved) == 5


def test_health_reports_device_target_active_and_fallback() -> None:
    backend = FakeBackend(fallback_reason="GPU not found")
    service, _ = make_service(backend)
    report = service.health()
    assert report.ready and report.status == "ok"
    assert (report.device.target, report.device.active, report.device.fallback_reason) == (
        "GPU",
        "CPU",
        "GPU not found",
    )
