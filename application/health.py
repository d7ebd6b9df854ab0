"""What `/health` reports, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from application.free_space import FolderSpace
from application.ports import ModelStatus
from application.safety_screening import SafetyReport
from domain.errors import Problem


@dataclass(frozen=True)
class DeviceReport:
    target: str
    active: str | None
    fallback_reason: Problem | None


@dataclass(frozen=True)
class HealthReport:
    ready: bool
    reason: Problem | None
    mock: bool
    model: ModelStatus
    device: DeviceReport
    generated_dir: str
    queued: int
    running: int
    defaults: dict[str, object]
    """The values a request gets for the fields it leaves out, for this model."""
    schedulers: tuple[str, ...]
    """What the loaded engine offers; none while no backend is loaded."""
    disk: tuple[FolderSpace, ...] = ()
    """Free space in the folders the service writes to (cached for a moment)."""
    min_free_mb: int = 0
    safety: SafetyReport | None = None
    """The safety filter: which checker, what it does to flagged images and previews."""

    @property
    def status(self) -> str:
        return "ok" if self.ready else "degraded"
