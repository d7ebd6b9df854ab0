"""What `/health` reports, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import ModelStatus


@dataclass(frozen=True)
class DeviceReport:
    target: str
    active: str | None
    fallback_reason: str | None


@dataclass(frozen=True)
class HealthReport:
    ready: bool
    reason: str | None
    mock: bool
    model: ModelStatus
    device: DeviceReport
    generated_dir: str
    queued: int
    running: int
    defaults: dict[str, object]
    """The values a request gets for the fields it leaves out, for this model."""

    @property
    def status(self) -> str:
        return "ok" if self.ready else "degraded"
