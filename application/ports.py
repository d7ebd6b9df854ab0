"""The ports the generation service depends on, as small structural types.

Adapters implement these without importing them; tests hand-write fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from domain.errors import Problem
from domain.generation_request import GenerationRequest


@dataclass(frozen=True)
class RenderedImage:
    """Raw pixels from a backend: 8-bit RGB, row-major, ``width * height * 3`` bytes."""

    width: int
    height: int
    rgb: bytes
    seed: int
    # The engine's own stage times in ms (text_encoder, unet_per_call, unet_calls,
    # vae_decode), when it reports them; they go into the image's provenance.
    timings_ms: Mapping[str, float] = field(default_factory=dict)


PreviewSource = Callable[[], bytes]
"""JPEG bytes of a small preview of the image being made. Valid only during the callback."""


class ProgressCallback(Protocol):
    """Called after each denoising step with ``(step, total)``.

    A backend that can show the work in progress also passes ``preview``; the
    service calls it only on the steps it wants a preview for, so the cost of
    making one is paid only then.
    """

    def __call__(self, step: int, total: int, preview: PreviewSource | None = None) -> None: ...


CancelCheck = Callable[[], bool]
"""Polled between steps; returning True asks the backend to stop."""


class ImageBackend(Protocol):
    """Turns a validated request into pixels on some device."""

    @property
    def provider(self) -> str:
        """Engine family, e.g. ``"mock"`` or ``"openvino"``."""

    @property
    def device(self) -> str:
        """Device the backend runs on now, e.g. ``"mock"``, ``"CPU"``, ``"GPU"``."""

    @property
    def is_mock(self) -> bool:
        """True when images are placeholders rather than model output."""

    @property
    def fallback_reason(self) -> Problem | None:
        """Why the backend runs on another device than the one asked for, if it does."""

    @property
    def schedulers(self) -> tuple[str, ...]:
        """Scheduler names (as in ``GenerationRequest.scheduler``) this backend can run."""

    @property
    def request_defaults(self) -> Mapping[str, int | float]:
        """Defaults this model wants instead of the standard ones (e.g. steps for an LCM)."""

    @property
    def provenance(self) -> Mapping[str, str]:
        """What made the images, for their records: engine, versions, default scheduler."""

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> RenderedImage:
        """Generate one image. Blocking; the service calls it from a worker thread.

        Raises ``GenerationCancelled`` when ``should_cancel`` turned true.
        """


@dataclass(frozen=True)
class ModelStatus:
    repo_id: str
    directory: Path
    cached: bool
    missing: tuple[str, ...] = ()
    revision: str | None = None
    """The hub commit the files came from, when known."""


DownloadProgress = Callable[[int, int], None]
"""Called with ``(done_bytes, total_bytes)`` from download worker threads; must not raise."""


class ModelStore(Protocol):
    """Where the model's files live and how they get there."""

    def status(self) -> ModelStatus:
        """Whether every file the engine needs is present, without network access."""

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        """Fetch missing or damaged files (all files when ``force``), reporting bytes."""


class ImageStore(Protocol):
    """Durable storage for generated images."""

    @property
    def directory(self) -> Path: ...

    def save(self, name: str, image: RenderedImage, text_chunks: Mapping[str, str]) -> None:
        """Write the image under ``name`` atomically: never a partial file under that name."""

    def path_of(self, name: str) -> Path | None:
        """The file for ``name`` if it is a stored image, else None (never outside the store)."""

    def delete(self, name: str) -> bool:
        """Remove a stored image; False when there was none."""


class HistoryStore(Protocol):
    """Durable job records (JSON objects), one per job, beside the images."""

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        """Create or replace the record atomically."""

    def read_all(self) -> list[dict[str, Any]]:
        """Every readable record, in no particular order; unreadable ones are skipped."""

    def delete(self, job_id: str) -> bool:
        """Remove a record; False when there was none."""
