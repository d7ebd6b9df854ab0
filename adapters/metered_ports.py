"""Decorators around the service's ports that count what passes through them.

The application stays unaware of metrics: each wrapper sees a port's calls from the
outside (a job's record as it is written, an image as it is saved, the bytes a download
reports, a model load) and forwards every call unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from adapters.service_metrics import PNG_WRITE, TEXT_ENCODER, UNET_STEP, VAE_DECODE, ServiceMetrics
from application.ports import (
    DownloadProgress,
    HistoryStore,
    ImageBackend,
    ImageStore,
    ModelStatus,
    ModelStore,
    RenderedImage,
)
from domain.job import JobStatus

# The engine's stage times (RenderedImage.timings_ms, in ms) and the stages they feed.
_ENGINE_STAGES = {
    "text_encoder": TEXT_ENCODER,
    "unet_per_call": UNET_STEP,
    "vae_decode": VAE_DECODE,
}


class MeteredImageStore:
    """Observes each saved image's stage times and how long its PNG took to write."""

    def __init__(self, inner: ImageStore, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def directory(self) -> Path:
        return self._inner.directory

    def save(self, name: str, image: RenderedImage, text_chunks: Mapping[str, str]) -> None:
        started = time.perf_counter()
        self._inner.save(name, image, text_chunks)
        self._metrics.stage_took(PNG_WRITE, time.perf_counter() - started)
        for key, stage in _ENGINE_STAGES.items():
            milliseconds = image.timings_ms.get(key)
            if milliseconds is not None:
                self._metrics.stage_took(stage, milliseconds / 1000)

    def path_of(self, name: str) -> Path | None:
        return self._inner.path_of(name)

    def delete(self, name: str) -> bool:
        return self._inner.delete(name)


class MeteredHistoryStore:
    """Counts each job once, when its record is first written with a final status."""

    def __init__(self, inner: HistoryStore, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        # Ids of jobs already counted: a final record may be written again (a retried
        # write), and the job must not count twice. Forgotten with the record, so this
        # holds no more than the history itself.
        self._counted: set[str] = set()
        self._lock = threading.Lock()

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        self._inner.write(job_id, record)
        status = _final_status(record)
        if status is None:
            return
        with self._lock:
            if job_id in self._counted:
                return
            self._counted.add(job_id)
        duration_ms = record.get("duration_ms")
        error = record.get("error")
        self._metrics.job_finished(
            status,
            duration_ms / 1000 if isinstance(duration_ms, (int, float)) else None,
            str(error["type"]) if isinstance(error, Mapping) and "type" in error else None,
        )

    def read_all(self) -> list[dict[str, Any]]:
        return self._inner.read_all()

    def delete(self, job_id: str) -> bool:
        removed = self._inner.delete(job_id)
        with self._lock:
            self._counted.discard(job_id)
        return removed


def _final_status(record: Mapping[str, Any]) -> str | None:
    try:
        status = JobStatus(record.get("status"))
    except ValueError:
        return None
    return status.value if status.is_final else None


class MeteredModelStore:
    """Counts the bytes a download reports, whoever asked for the download."""

    def __init__(self, inner: ModelStore, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def status(self) -> ModelStatus:
        return self._inner.status()

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        return self._inner.download(force, _ByteCounter(self._metrics, on_progress))


class _ByteCounter:
    """Turns the running totals a download reports into increments of the byte counter.

    Reports come from several download threads and may arrive out of order: only the
    part of a total beyond the largest one seen so far is new.
    """

    def __init__(self, metrics: ServiceMetrics, forward: DownloadProgress | None) -> None:
        self._metrics = metrics
        self._forward = forward
        self._counted = 0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            new = done - self._counted
            if new > 0:
                self._counted = done
        if new > 0:
            self._metrics.downloaded(new)
        if self._forward is not None:
            self._forward(done, total)


def metered_loader(
    load: Callable[[], ImageBackend], metrics: ServiceMetrics
) -> Callable[[], ImageBackend]:
    """``load``, with each successful load's time observed (a failed one is in the log)."""

    def timed() -> ImageBackend:
        started = time.perf_counter()
        backend = load()
        metrics.model_loaded(time.perf_counter() - started)
        return backend

    return timed
