"""The API node's side of the cluster: an `ImageBackend` whose images a worker renders.

`generate` is called from a job's engine thread, as for a local backend. It queues one
render on Redis through SAQ and blocks until a worker returned its pixels, relaying the
worker's progress and previews on the way and aborting the render when the job is
cancelled. Everything around the image (the safety check, the PNG and its provenance,
the records, the events) stays the API node's, in the same application code.

A render whose worker died (SAQ sweeps it once its heartbeats stop) runs again on another
worker while less than ``retry_below_share`` of its steps had run; past that it fails as
interrupted rather than pay for the whole image twice.
"""

from __future__ import annotations

import asyncio
import base64
import queue as thread_queue
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

import structlog
from saq.job import Job as SaqJob
from saq.job import Status
from saq.queue.redis import RedisQueue

from adapters.render_wire import decode_image, encode_render
from adapters.saq_render_worker import RENDER_TASK
from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from domain.errors import GenerationCancelled, GenerationInterrupted, Problem
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

log = structlog.get_logger("cluster")

T = TypeVar("T")
CANCELLED = "cancelled"
LOST = "lost: Redis restarted without it"
POLL_SECONDS = 0.1
"""How often a render's state is read from Redis: its progress reaches the stream this late
(steps quicker than this are reported together, and a preview of a step between is not)."""
ABORT_AGAIN_SECONDS = 2.0
WAIT_SLICE_SECONDS = 0.1
"""How often the engine thread looks at the cancel flag while it waits for a worker."""


class RenderFailed(Exception):
    """The worker could not render the image (its traceback is in its own log)."""


class RemoteBackend:
    """Renders on the cluster's workers; describes itself by the workers it has seen."""

    def __init__(
        self,
        queue: RedisQueue,
        loop: asyncio.AbstractEventLoop,
        description: Mapping[str, Any],
        *,
        heartbeat_seconds: int = 15,
        retry_below_share: float = 0.5,
    ) -> None:
        self._queue = queue
        self._loop = loop
        self._description = dict(description)
        self._heartbeat = heartbeat_seconds
        self._retry_below = retry_below_share
        self._renders = threading.local()
        """Per engine thread (one per job running), its last render's worker: what the
        image just rendered is stored with."""
        self.parallel_jobs = 1
        """How many renders may run at once: the workers registered now."""

    # What the service reads of a backend ----------------------------------

    @property
    def provider(self) -> str:
        return str(self._description["provider"])

    @property
    def device(self) -> str:
        return str(self._last.get("device") or self._description["device"])

    @property
    def _last(self) -> dict[str, Any]:
        last: dict[str, Any] = getattr(self._renders, "last", {})
        return last

    @property
    def is_mock(self) -> bool:
        return bool(self._description["is_mock"])

    @property
    def fallback_reason(self) -> Problem | None:
        return None

    @property
    def schedulers(self) -> tuple[str, ...]:
        return tuple(self._description["schedulers"])

    @property
    def request_defaults(self) -> Mapping[str, int | float]:
        return dict(self._description["request_defaults"])

    @property
    def modes(self) -> frozenset[EditMode]:
        return frozenset(EditMode(mode) for mode in self._description["modes"])

    @property
    def provenance(self) -> Mapping[str, str]:
        provenance = dict(self._last.get("provenance") or self._description["provenance"])
        worker = self._last.get("worker")
        if worker:
            provenance["worker"] = f"{worker['host']} ({worker['id']})"
        return provenance

    # Rendering ----------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        render = encode_render(request, seed, edit)
        while True:
            outcome = self._render_once(render, on_progress, should_cancel)
            if outcome is not None:
                return outcome

    def _render_once(
        self, render: dict[str, Any], on_progress: ProgressCallback, should_cancel: CancelCheck
    ) -> RenderedImage | None:
        """The image, or None when a dead worker's render should run again."""
        updates: thread_queue.SimpleQueue[tuple[str, Any]] = thread_queue.SimpleQueue()
        job = self._call(self._enqueue(render))
        following = self._submit(self._follow(job, updates.put))
        abort_again_at = 0.0
        steps_done, steps_total = 0, 0
        while True:
            try:
                kind, value = updates.get(timeout=WAIT_SLICE_SECONDS)
            except thread_queue.Empty:
                if following.done() and updates.empty():
                    following.result()  # it failed (Redis lost mid-read): raise that here
                    raise RenderFailed("The render's updates stopped.") from None
                if should_cancel() and time.monotonic() >= abort_again_at:
                    # Again every few seconds until it ends: a worker's own update of the
                    # job can overwrite an abort that came between its read and its write.
                    abort_again_at = time.monotonic() + ABORT_AGAIN_SECONDS
                    self._submit(self._queue.abort(job, CANCELLED))
                continue
            if kind == "progress":
                steps_done, steps_total = value["step"], value["total"]
                on_progress(steps_done, steps_total, _preview_of(value))
                continue
            following.result()
            if kind == "complete" and "failed" in value:
                raise RenderFailed(
                    f"The worker could not make the image ({value['failed']} on "
                    f"{value.get('device')}; its log has the details)."
                )
            if kind == "complete":
                self._renders.last = value
                return decode_image(value["image"])
            if (kind == "aborted" and value == CANCELLED) or should_cancel():
                raise GenerationCancelled("Cancelled while a worker rendered it.")
            if kind == "aborted" and value in (self._queue.swept_error_message, LOST):
                share = steps_done / steps_total if steps_total else 0.0
                if share < self._retry_below:
                    log.warning("render_retried", job_key=job.key, step=steps_done)
                    return None
                raise GenerationInterrupted(
                    f"The worker making this image stopped answering at step {steps_done} "
                    f"of {steps_total}, past the share of its steps that would be made again."
                )
            raise RenderFailed(f"The worker could not render the image ({kind}).")

    async def _enqueue(self, render: dict[str, Any]) -> SaqJob:
        job = await self._queue.enqueue(
            RENDER_TASK,
            render=render,
            timeout=0,  # the job's own deadline runs on the API node
            heartbeat=self._heartbeat,
            retries=1,  # one attempt: whether to run it again is decided here
        )
        if job is None:  # only a job key that already exists; ours are fresh
            raise RenderFailed("The render was not queued.")
        return job

    async def _follow(self, job: SaqJob, put: Callable[[tuple[str, Any]], None]) -> None:
        """Relay the job's steps until it ends, reading the job every ``POLL_SECONDS``.

        Polled rather than notified: redis-py's pub/sub reads could hang past their timeout
        here, and a read per tenth of a second is small next to a step.
        """
        seen_step = -1
        while True:
            try:
                current = await self._queue.job(job.key)
            except Exception as error:  # Redis restarting: read again; the job's deadline bounds it
                log.debug("render_read_failed", job_key=job.key, error_type=type(error).__name__)
                await asyncio.sleep(1.0)
                continue
            if current is None:
                # Redis restarted without persistence (README: appendonly yes keeps it).
                put(("aborted", LOST))
                return
            meta = current.meta or {}
            if "step" in meta and meta["step"] != seen_step:
                seen_step = meta["step"]
                put(("progress", meta))
            if current.status is Status.COMPLETE:
                put(("complete", current.result))
                return
            if current.status in (Status.ABORTED, Status.FAILED):
                put(("aborted" if current.status is Status.ABORTED else "failed", current.error))
                return
            await asyncio.sleep(POLL_SECONDS)

    def _submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return self._submit(work).result()


def _preview_of(meta: Mapping[str, Any]) -> Callable[[], bytes] | None:
    encoded = meta.get("preview")
    if not encoded:
        return None
    jpeg = base64.b64decode(encoded)
    return lambda: jpeg
