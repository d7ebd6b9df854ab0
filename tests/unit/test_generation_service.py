"""What the service itself answers: health."""

from __future__ import annotations

from domain.errors import (
    Problem,
    Remedy,
)
from tests.support.fakes import (
    FakeBackend,
)
from tests.support.running_service import (
    make_service,
)


def test_health_reports_device_target_active_and_fallback() -> None:
    backend = FakeBackend(fallback_reason=Problem("GPU not found", (Remedy.USE_CPU,)))
    service, _ = make_service(backend)
    report = service.health()
    assert report.ready
    assert report.status == "ok"
    assert (report.device.target, report.device.active, report.device.fallback_reason) == (
        "GPU",
        "CPU",
        Problem("GPU not found", (Remedy.USE_CPU,)),
    )
    assert report.schedulers == backend.schedulers
