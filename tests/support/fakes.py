"""Hand-written fakes of the service's ports. They record what happened to them."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from application.ports import (
    CancelCheck,
    DownloadProgress,
    EditImages,
    ModelStatus,
    ProgressCallback,
    RenderedImage,
    StoredUpload,
)
from application.safety_ports import SafetyVerdict
from domain.errors import GenerationCancelled, InvalidImage, Problem, UploadNotFound
from domain.generation_request import SCHEDULERS, GenerationRequest
from domain.input_image import EditMode


@dataclass
class FakeBackend:
    """Produces flat images; can be told to fail, or to wait until released."""

    provider: str = "fake"
    device: str = "CPU"
    is_mock: bool = False
    fallback_reason: Problem | None = None
    schedulers: tuple[str, ...] = SCHEDULERS
    provenance: dict[str, str] = field(default_factory=lambda: {"engine": "fake"})
    request_defaults: dict[str, int | float] = field(default_factory=dict)
    modes: frozenset[EditMode] = frozenset(EditMode)
    error: Exception | None = None
    hold: threading.Event | None = None
    calls: list[tuple[GenerationRequest, int]] = field(default_factory=list)
    edits: list[EditImages | None] = field(default_factory=list)
    """The ``edit`` each call got (None: a text-to-image call, or none passed)."""
    started: threading.Event = field(default_factory=threading.Event)

    def calls_by_prompt(self) -> list[tuple[str, int]]:
        return [(request.prompt, seed) for request, seed in self.calls]

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        self.calls.append((request, seed))
        self.edits.append(edit)
        self.started.set()
        steps = request.denoising_steps
        for step in range(1, steps + 1):
            while self.hold is not None and not self.hold.wait(0.01):
                if should_cancel():
                    raise GenerationCancelled("Cancelled.")
            if should_cancel():
                raise GenerationCancelled("Cancelled.")
            on_progress(step, steps, partial(_preview_bytes, step))
        if self.error is not None:
            raise self.error
        pixels = bytes([seed % 256, 0, 0]) * (request.width * request.height)
        return RenderedImage(request.width, request.height, pixels, seed)


@dataclass
class FakeImageStore:
    directory: Path = Path("/nonexistent/generated")
    saved: dict[str, tuple[RenderedImage, dict[str, str]]] = field(default_factory=dict)

    def save(self, name: str, image: RenderedImage, text_chunks: Mapping[str, str]) -> None:
        self.saved[name] = (image, dict(text_chunks))

    def path_of(self, name: str) -> Path | None:
        return None

    def delete(self, name: str) -> bool:
        return self.saved.pop(name, None) is not None


@dataclass
class FakeModelStore:
    cached: bool = True
    repo_id: str = "OpenVINO/fake-model"
    directory: Path = Path("/nonexistent/model")
    downloads: int = 0
    status_errors: list[Exception] = field(default_factory=list)
    """Raised, in order, by the next calls of ``status``."""

    def status(self) -> ModelStatus:
        if self.status_errors:
            raise self.status_errors.pop(0)
        missing = () if self.cached else ("model_index.json",)
        return ModelStatus(self.repo_id, self.directory, self.cached, missing)

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        self.downloads += 1
        self.cached = True
        return self.status()


@dataclass
class FakeHistoryStore:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    write_errors: list[Exception] = field(default_factory=list)
    """Raised, in order, by the next writes; the record is not written then."""
    delete_errors: list[Exception] = field(default_factory=list)
    """Raised, in order, by the next deletes; the record stays."""

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        if self.write_errors:
            raise self.write_errors.pop(0)
        self.records[job_id] = json.loads(json.dumps(record))  # as a file would round-trip it

    def read_all(self) -> list[dict[str, Any]]:
        return [dict(record) for record in self.records.values()]

    def delete(self, job_id: str) -> bool:
        if self.delete_errors:
            raise self.delete_errors.pop(0)
        return self.records.pop(job_id, None) is not None


@dataclass
class FakeUploadStore:
    """Keeps uploads in memory. Takes any bytes starting with ``IMG`` followed by
    ``<width>x<height>`` (e.g. ``b"IMG64x48"``); refuses the rest as the real store does."""

    directory: Path = Path("/nonexistent/uploads")
    max_bytes: int = 2**20
    uploads: dict[str, tuple[StoredUpload, bytes]] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    """Every id ever added, in order (deleted ones too)."""
    deleted: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    """Ids ``mark_used`` marked, in order. (Unlike the real store, the fake keeps the
    same image added twice as two uploads.)"""

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        if len(data) > self.max_bytes:
            raise InvalidImage(field, "Too large.", too_large=True)
        if not data.startswith(b"IMG"):
            raise InvalidImage(field, "Not an image.")
        width, height = (int(side) for side in data[3:].split(b"x"))
        upload = StoredUpload(
            id=f"{len(self.added):032x}",
            sha256=hashlib.sha256(data).hexdigest(),
            width=width,
            height=height,
            size_bytes=len(data),
            source_format="PNG",
            created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            owner=owner,
        )
        self.uploads[upload.id] = (upload, data)
        self.added.append(upload.id)
        return upload

    def mark_used(self, upload_id: str) -> StoredUpload | None:
        kept = self.uploads.get(upload_id)
        if kept is None:
            return None
        used = replace(kept[0], last_used=datetime(2026, 1, 2, tzinfo=timezone.utc))
        self.uploads[upload_id] = (used, kept[1])
        self.marked.append(upload_id)
        return used

    def get(self, upload_id: str) -> StoredUpload | None:
        kept = self.uploads.get(upload_id)
        return kept[0] if kept else None

    def path_of(self, upload_id: str) -> Path | None:
        return self.directory / f"{upload_id}.png" if upload_id in self.uploads else None

    def all(self) -> list[StoredUpload]:
        return [upload for upload, _ in reversed(self.uploads.values())]

    def delete(self, upload_id: str) -> bool:
        self.deleted.append(upload_id)
        return self.uploads.pop(upload_id, None) is not None

    def discard_unused(self, upload_id: str) -> bool:
        kept = self.uploads.get(upload_id)
        return kept is not None and kept[0].last_used is None and self.delete(upload_id)

    def remove_leftovers(self) -> int:
        return 0


@dataclass
class FakeEditPixels:
    """Prepares flat inputs (grey 7 for the image, 255 mask) at the output size; finish
    marks the image's first byte 255 so a test can see it ran. Raises UploadNotFound for
    an input the upload store no longer has."""

    uploads: FakeUploadStore
    prepared: list[EditImages] = field(default_factory=list)
    finished: int = 0

    def prepare(self, request: GenerationRequest) -> EditImages | None:
        if request.init_image is None:
            return None
        for image in (request.init_image, request.mask_image):
            if image is not None and self.uploads.get(image.upload_id) is None:
                raise UploadNotFound(f"No upload {image.upload_id}.")
        size = request.width * request.height
        mask = None if request.mask_image is None else bytes([255]) * size
        edit = EditImages(request.width, request.height, bytes([7]) * (size * 3), mask)
        self.prepared.append(edit)
        return edit

    def finish(self, image: RenderedImage, edit: EditImages) -> RenderedImage:
        self.finished += 1
        return RenderedImage(
            image.width, image.height, b"\xff" + image.rgb[1:], image.seed, image.timings_ms
        )


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    now: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _preview_bytes(step: int) -> bytes:
    return f"preview {step}".encode()


class FakeSafetyChecker:
    """Flags the images whose seed is in ``flag_seeds`` (or every image, ``flag_all``);
    records every batch it judged, so a test can see what it was shown."""

    name = "sd_checker"
    version = "fake-1"
    device = "CPU"

    def __init__(self, flag_seeds: Iterable[int] = (), *, flag_all: bool = False) -> None:
        self.flag_seeds = set(flag_seeds)
        self.flag_all = flag_all
        self.judged: list[list[RenderedImage]] = []

    def check(self, images: Sequence[RenderedImage]) -> list[SafetyVerdict | None]:
        self.judged.append(list(images))
        verdicts: list[SafetyVerdict | None] = []
        for image in images:
            flagged = self.flag_all or image.seed in self.flag_seeds
            verdicts.append(
                SafetyVerdict(
                    flagged,
                    concept_scores=(0.02 if flagged else -0.1,) * 17,
                    special_scores=(-0.05,) * 3,
                )
            )
        return verdicts
