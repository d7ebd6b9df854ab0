"""The ports the generation service depends on, as small structural types.

Adapters implement these without importing them; tests hand-write fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from domain.errors import Problem
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode


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


@dataclass(frozen=True)
class EditImages:
    """What an image-to-image or inpainting run starts from, already at the output size
    (the request's ``resize_mode`` applied): the backend uses these as they are."""

    width: int
    height: int
    init_rgb: bytes
    """8-bit RGB, row-major, ``width * height * 3`` bytes."""
    mask: bytes | None = None
    """Inpainting only: 8-bit grey, ``width * height`` bytes, 255 repaints and 0 keeps;
    ``invert_mask`` and ``mask_blur`` already applied."""


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
    def modes(self) -> frozenset[EditMode]:
        """The modes this backend serves: a model without a VAE encoder only text-to-image."""

    @property
    def provenance(self) -> Mapping[str, str]:
        """What made the images, for their records: engine, versions, default scheduler."""

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        """Generate one image. Blocking; the service calls it from a worker thread.

        ``edit`` is given exactly when ``request.mode`` is not text-to-image; progress
        totals are ``request.denoising_steps``, the steps that really run.
        Raises ``GenerationCancelled`` when ``should_cancel`` turned true.
        """


class EditPixels(Protocol):
    """Pixel work around an edit, outside any engine: reading the inputs at the output
    size, and finishing an inpainted image as AUTOMATIC1111 does."""

    def prepare(self, request: GenerationRequest) -> EditImages | None:
        """The request's input image (and mask) at its output size; None for text-to-image.

        Raises ``UploadNotFound`` when a stored input has gone since the job was accepted.
        """

    def finish(self, image: RenderedImage, edit: EditImages) -> RenderedImage:
        """For inpainting, the input's own pixels pasted back outside the (blurred) mask,
        so what the mask keeps is not changed by the VAE; else ``image`` unchanged."""


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded input image, stored normalised as an 8-bit sRGB PNG: RGBA when the
    upload has transparency (a mask may be drawn in its alpha), else RGB."""

    id: str
    sha256: str
    """Of the stored PNG."""
    width: int
    height: int
    size_bytes: int
    source_format: str
    """What the client sent: ``PNG``, ``JPEG`` or ``WEBP``."""
    created_at: datetime
    owner: str | None = None
    """The client that uploaded it (as ``Job.owner``); None: anyone's."""
    last_used: datetime | None = None
    """When a request last named it or the same image was added again; None: never since
    it was stored. Retention counts an upload's age from the later of this and created_at."""


class UploadStore(Protocol):
    """Input images clients uploaded (or gave inline, or picked from the gallery)."""

    @property
    def directory(self) -> Path: ...

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        """Check, normalise and store an image. Raises ``InvalidImage`` (naming ``field``)
        for anything it will not take, leaving nothing behind. The same owner's image
        again (the same stored PNG) is not stored twice: that upload is answered, with
        ``last_used`` set (a new one has none)."""

    def mark_used(self, upload_id: str) -> StoredUpload | None:
        """Set the upload's ``last_used`` to now, as a request is about to use it; the
        upload, or None when there is none."""

    def get(self, upload_id: str) -> StoredUpload | None:
        """The upload, or None when there is none (a malformed id included)."""

    def path_of(self, upload_id: str) -> Path | None:
        """The stored PNG, never a path outside the store."""

    def all(self) -> list[StoredUpload]:
        """Every upload, newest first."""

    def delete(self, upload_id: str) -> bool:
        """Remove an upload; False when there was none."""

    def discard_unused(self, upload_id: str) -> bool:
        """Remove an upload no request has used since it was added (``last_used`` still
        unset), for a request refused after storing it: the same image sent meanwhile by
        another request of its owner is that very upload, marked used, and stays. True
        when it went."""

    def remove_leftovers(self) -> int:
        """At start, under the folder lock: what a killed process left half-written
        (temporary files, a picture whose record never came); returns how many went."""


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
