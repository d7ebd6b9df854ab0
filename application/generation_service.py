"""The generation service: runs requests on the current backend, one at a time.

It owns readiness (is there a backend that can generate now, and if not, why),
seeds, job records, the time limit, and where images are written. Inference
and PNG encoding run in a worker thread so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

import structlog

from application.image_metadata import parameters_text
from application.ports import ImageBackend, ImageStore, ModelStatus, ModelStore, RenderedImage
from domain.errors import (
    GenerationCancelled,
    GenerationFailed,
    GenerationTimeout,
    ServiceUnavailable,
    UnsupportedOption,
)
from domain.generation_request import SEED_MAX, GenerationRequest
from domain.job import ImageRef, Job, JobError

log = structlog.get_logger("service")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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

    @property
    def status(self) -> str:
        return "ok" if self.ready else "degraded"


class GenerationService:
    def __init__(
        self,
        image_store: ImageStore,
        model_store: ModelStore,
        *,
        device_target: str,
        timeout_seconds: float,
        clock: Callable[[], datetime] = utc_now,
        new_job_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        new_seed: Callable[[], int] = lambda: secrets.randbelow(SEED_MAX + 1),
    ) -> None:
        self._images = image_store
        self._models = model_store
        self._device_target = device_target
        self._timeout = timeout_seconds
        self._clock = clock
        self._new_job_id = new_job_id
        self._new_seed = new_seed
        self._backend: ImageBackend | None = None
        self._unavailable_reason = "The image backend is starting."
        self._lock = asyncio.Lock()
        # One thread: one inference at a time per loaded pipeline.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")

    # Readiness -----------------------------------------------------------

    def attach_backend(self, backend: ImageBackend) -> None:
        self._backend = backend

    def mark_unavailable(self, reason: str) -> None:
        self._backend = None
        self._unavailable_reason = reason

    @property
    def backend(self) -> ImageBackend | None:
        return self._backend

    def health(self) -> HealthReport:
        backend = self._backend
        return HealthReport(
            ready=backend is not None,
            reason=None if backend is not None else self._unavailable_reason,
            mock=backend.is_mock if backend is not None else False,
            model=self._models.status(),
            device=DeviceReport(
                target=self._device_target,
                active=backend.device if backend is not None else None,
                fallback_reason=backend.fallback_reason if backend is not None else None,
            ),
            generated_dir=str(self._images.directory),
        )

    def shutdown(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)

    # Generation ----------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> Job:
        backend = self._backend
        if backend is None:
            raise ServiceUnavailable(self._unavailable_reason)
        if request.scheduler is not None and request.scheduler not in backend.schedulers:
            raise UnsupportedOption(
                "scheduler",
                f"This engine has no {request.scheduler!r} scheduler; it offers "
                f"{', '.join(backend.schedulers)}.",
            )
        seed = request.seed if request.seed is not None else self._new_seed()
        job = Job(
            id=self._new_job_id(),
            request=request.with_seed(seed),
            seed=seed,
            created_at=self._clock(),
        )
        async with self._lock:
            job.start(self._clock(), backend.provider, backend.device, backend.is_mock)
            log.info(
                "job_started",
                job_id=job.id,
                device=backend.device,
                steps=request.num_inference_steps,
                width=request.width,
                height=request.height,
            )
            try:
                ref = await self._run_with_deadline(backend, job)
            except GenerationTimeout as error:
                job.fail(self._clock(), JobError("timeout", error.message))
                log.warning(
                    "job_timed_out",
                    job_id=job.id,
                    step=job.step,
                    total=job.total_steps,
                    device=job.device,
                )
                raise
            except GenerationCancelled:
                job.cancel(self._clock())
                log.info("job_cancelled", job_id=job.id)
                raise
            except Exception as error:
                job.fail(self._clock(), JobError("generation_failed", "Generation failed."))
                log.error(
                    "job_failed",
                    job_id=job.id,
                    device=job.device,
                    error_type=type(error).__name__,
                    exc_info=error,
                )
                raise GenerationFailed(
                    f"Generation failed; the server log has the details for job {job.id}."
                ) from error
        job.succeed(self._clock(), [ref], device=backend.device)
        log.info("job_succeeded", job_id=job.id, duration_ms=job.duration_ms, device=job.device)
        return job

    async def _run_with_deadline(self, backend: ImageBackend, job: Job) -> ImageRef:
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._worker, self._render_and_store, backend, job, stop)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except asyncio.TimeoutError:  # not the builtin before Python 3.11
            stop.set()
            # Wait for the worker to notice, so the next job never overlaps this one.
            with contextlib.suppress(GenerationCancelled):
                await future
            raise GenerationTimeout(self._timeout_message(job)) from None
        except asyncio.CancelledError:
            stop.set()
            raise

    def _render_and_store(self, backend: ImageBackend, job: Job, stop: threading.Event) -> ImageRef:
        image: RenderedImage = backend.generate(
            job.request, job.seed, job.report_progress, stop.is_set
        )
        if stop.is_set():
            raise GenerationCancelled("The generation was stopped before its image was saved.")
        name = f"{job.id}.png"
        self._images.save(name, image, {"parameters": parameters_text(job.request, job.seed)})
        return ImageRef(name=name, seed=image.seed, width=image.width, height=image.height)

    def _timeout_message(self, job: Job) -> str:
        return (
            f"Generation stopped after {self._timeout:g} s at step {job.step} of "
            f"{job.total_steps} on {job.device}. Try fewer steps, a smaller size, a GPU, "
            f"or a few-step model, or raise INFERENCE_TIMEOUT_SECONDS."
        )
