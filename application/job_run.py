"""Running one job, the event-loop side: record it, wait for the engine thread under a
deadline, settle the outcome, record it again.

A failed write of the images is the disk's fault, not the engine's: a full disk fails
the job as ``insufficient_storage`` naming the folder and its free space.

`engine_thread.py` is the other side, the code that runs in the engine thread. The
engine thread is the only place inference happens, one job at a time; the event loop
only waits for it, so `/health` and the job API keep answering.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

import structlog

from application.engine_thread import ImagesNotStored, preview_data_url, render_and_store
from application.free_space import FreeSpace
from application.history import INTERRUPTED, History
from application.job_events import JobEvent, JobEventBroker, progress_data
from application.job_failures import (
    failure_error,
    input_missing_error,
    interrupted_error,
    storage_error,
    timeout_error,
)
from application.ports import (
    EditPixels,
    ImageBackend,
    ImageStore,
    ModelStatus,
    ModelStore,
    PreviewSource,
)
from application.preview_board import PreviewBoard
from application.safety_screening import SafetyScreening
from application.upload_pruning import UploadPruning
from domain.errors import GenerationCancelled, GenerationInterrupted, Remedy, UploadNotFound
from domain.job import ImageRef, Job, JobErrorType

ForgetJobs = Callable[[list[Job]], None]
"""Told, on the event loop, which jobs retention removed from history."""

log = structlog.get_logger("service")


class JobRun:
    """Takes one job from queued to a final state; holds the one engine thread."""

    def __init__(
        self,
        images: ImageStore,
        models: ModelStore,
        history: History,
        events: JobEventBroker,
        clock: Callable[[], datetime],
        timeout_seconds: float,
        preview_every: int,
        forget: ForgetJobs = lambda jobs: None,
        *,
        free_space: FreeSpace | None = None,
        shutting_down: Callable[[], bool] = lambda: False,
        edit_pixels: EditPixels | None = None,
        upload_pruning: UploadPruning | None = None,
        previews: PreviewBoard | None = None,
        screening: SafetyScreening | None = None,
    ) -> None:
        self._images = images
        self._models = models
        self._history = history
        self._events = events
        self._clock = clock
        self._timeout = timeout_seconds
        self._preview_every = preview_every
        self._forget = forget
        self._free_space = free_space
        self._shutting_down = shutting_down
        """True once the service stops: a job it stops is interrupted, not cancelled."""
        self._edit_pixels = edit_pixels
        """Reads an edit's input images; None in services that only take text."""
        self._upload_pruning = upload_pruning
        self._previews = previews if previews is not None else PreviewBoard()
        self._screening = screening if screening is not None else SafetyScreening()
        # One thread: one inference at a time per loaded pipeline.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")

    def shutdown(self) -> None:
        self._thread.shutdown(wait=True)

    async def run(self, job: Job, backend: ImageBackend, stop: threading.Event) -> None:
        """Take ``job`` from queued to a final state; never raises for the job's own errors."""
        job.start(self._clock(), backend.provider, backend.device, backend.is_mock)
        model = self._models.status()
        await asyncio.wrap_future(self._history.record_soon(job, model, backend.provenance))
        self._events.publish(job.id, JobEvent("started", {"device": backend.device}))
        waited = (job.started_at - job.created_at) if job.started_at else None
        log.info(
            "job_started",
            job_id=job.id,
            device=backend.device,
            queue_wait_ms=None if waited is None else round(waited.total_seconds() * 1000, 1),
        )
        try:
            await self._render(job, backend, stop, model)
        finally:
            self._previews.clear(job.id)
            await asyncio.wrap_future(self._history.record_soon(job, model, backend.provenance))
            removed = await asyncio.wrap_future(self._history.in_order(self._apply_retention, job))
            self._forget(removed)

    async def _render(
        self, job: Job, backend: ImageBackend, stop: threading.Event, model: ModelStatus
    ) -> None:
        loop = asyncio.get_running_loop()

        def progress(step: int, total: int, preview: PreviewSource | None = None) -> None:
            # Runs in the engine thread, inside the engine's step: the latents are valid now.
            image = None
            if preview is not None and self._preview_every and step % self._preview_every == 0:
                shown = self._screening.preview(preview)
                image = preview_data_url(shown, job.id) if shown is not None else None
            loop.call_soon_threadsafe(self._on_progress, job, step, total, image)

        # In the job's log context, so the engine's own lines (a pipeline swap, a device
        # retry) carry the job's request id too.
        context = contextvars.copy_context()
        render = partial(
            render_and_store,
            backend,
            self._images,
            job,
            stop,
            progress,
            model,
            edit_pixels=self._edit_pixels,
            screening=self._screening,
        )

        def render_and_where() -> tuple[list[ImageRef], str]:
            # Where the images were made, asked in the engine thread: a backend whose
            # workers take turns knows it there.
            return render(), backend.device

        future = loop.run_in_executor(self._thread, context.run, render_and_where)
        timed_out = False
        try:
            try:
                refs, device = await asyncio.wait_for(asyncio.shield(future), self._timeout)
            except asyncio.TimeoutError:  # not the builtin before Python 3.11
                timed_out = True
                stop.set()
                # Wait for the engine thread to notice, so the next job never overlaps this one.
                refs, device = await future
        except GenerationCancelled:
            self._settle_stopped(job, backend, timed_out)
        except ImagesNotStored as error:
            free_mb = self._free_space.free_mb_now(error.folder) if self._free_space else None
            job.fail(self._clock(), storage_error(error, free_mb))
            log.warning(
                "job_failed",
                job_id=job.id,
                error_type=job.error.type.value if job.error else None,
                folder=str(error.folder),
                free_mb=free_mb,
                detail=str(error.cause),
            )
        except GenerationInterrupted as error:
            job.fail(self._clock(), interrupted_error(error))
            log.warning("job_interrupted", job_id=job.id, step=job.step, detail=error.message)
        except UploadNotFound as error:
            job.fail(self._clock(), input_missing_error(error))
            log.warning("job_failed", job_id=job.id, error_type=JobErrorType.INPUT_MISSING.value)
        except Exception as error:
            job.fail(self._clock(), failure_error(job))
            log.error(
                "job_failed",
                job_id=job.id,
                device=backend.device,
                error_type=type(error).__name__,
                # If it repeats, a damaged model or the device is the usual cause.
                remedies=[Remedy.DOWNLOAD_MODEL.value, Remedy.USE_CPU.value],
                exc_info=error,
            )
        else:
            job.succeed(self._clock(), refs, device=device)
            log.info("job_succeeded", job_id=job.id, duration_ms=job.duration_ms, device=job.device)

    def _settle_stopped(self, job: Job, backend: ImageBackend, timed_out: bool) -> None:
        """The engine stopped on the stop flag: the deadline's doing, or a cancel's."""
        now = self._clock()
        if timed_out:
            job.fail(now, timeout_error(job, now, backend.device, self._timeout))
            log.warning(
                "job_timed_out",
                job_id=job.id,
                step=job.step,
                total=job.total_steps,
                device=backend.device,
            )
        elif self._shutting_down():
            job.fail(now, INTERRUPTED)
            log.info("job_interrupted", job_id=job.id, step=job.step)
        else:
            job.cancel(now)
            log.info("job_cancelled", job_id=job.id, step=job.step)

    def _on_progress(self, job: Job, step: int, total: int, preview: str | None) -> None:
        now = self._clock()
        job.report_progress(step, total, now)
        self._events.publish(job.id, JobEvent("progress", progress_data(job, now)))
        if preview is not None:
            self._previews.pin(job, preview)
            self._events.publish(job.id, JobEvent("preview", {"step": step, "image": preview}))

    def _apply_retention(self, job: Job) -> list[Job]:
        """In the history's writer thread, after the final record; returns what went."""
        now = self._clock()
        removed: list[Job] = []
        try:
            removed = self._history.apply_retention(now)
        except Exception as error:
            # The next job's pass tries again; this one is already final.
            log.error(
                "retention_failed", job_id=job.id, error_type=type(error).__name__, exc_info=error
            )
        if self._upload_pruning is not None:
            self._upload_pruning.apply(self._history.jobs(), now)
        return removed
