"""A cluster worker: renders the images the API node queues on Redis, with a local backend.

SAQ (https://github.com/tobymao/saq) pulls renders, keeps the job alive with heartbeats,
aborts it on request and sweeps it when a worker dies. Each render runs the same
`ImageBackend.generate` a job runs on the API node, in one engine thread (one inference
at a time); a worker makes only outbound connections, to Redis.

Progress goes back through the job: each step updates its ``meta`` with the step and a
preview, and a beat between steps keeps a long step (a first compile) from looking dead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from saq import Queue, Worker
from saq.job import Job as SaqJob
from saq.types import Context, PartialTimersDict

from adapters.render_wire import WIRE_VERSION, decode_render, encode_image
from application.ports import ImageBackend, PreviewSource
from domain.errors import GenerationCancelled

log = structlog.get_logger("worker")

RENDER_TASK = "render"
REGISTER_SECONDS = 5
"""How often a worker renews its registration (SAQ keeps it one second longer)."""


BEAT_SECONDS = 2.0
"""How often a running render tells Redis it is alive, between its steps' own updates."""


def new_worker_id() -> str:
    # SAQ splits its worker keys on ':'; a host name and a short random part say which PC.
    host = socket.gethostname().replace(":", "-") or "worker"
    return f"{host}-{uuid.uuid4().hex[:8]}"


def worker_description(
    backend: ImageBackend, model: Mapping[str, str | None], worker_id: str
) -> dict[str, Any]:
    """What the API node needs to know of a worker: its device, engine and model."""
    return {
        "id": worker_id,
        "host": socket.gethostname(),
        "wire": WIRE_VERSION,
        "provider": backend.provider,
        "device": backend.device,
        "is_mock": backend.is_mock,
        "schedulers": list(backend.schedulers),
        "request_defaults": dict(backend.request_defaults),
        "modes": sorted(mode.value for mode in backend.modes),
        "provenance": dict(backend.provenance),
        "model": dict(model),
    }


class RenderWorker:
    """One SAQ worker with concurrency 1 around one loaded backend."""

    def __init__(
        self,
        queue: Queue,
        backend: ImageBackend,
        description: dict[str, Any],
        *,
        sweep_seconds: int = 5,
    ) -> None:
        self._backend = backend
        self._description = description
        self._engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
        self.worker = Worker(
            queue,
            functions=[(RENDER_TASK, self._render)],
            id=description["id"],
            concurrency=1,
            metadata=description,
            timers=PartialTimersDict(
                schedule=1, worker_info=REGISTER_SECONDS, sweep=sweep_seconds, abort=1
            ),
            dequeue_timeout=1.0,
        )

    async def run(self) -> None:
        """Until cancelled (or ``stop``)."""
        try:
            await self.worker.start()
        finally:
            self._engine.shutdown(wait=True)

    async def stop(self) -> None:
        await self.worker.stop()

    async def _render(self, ctx: Context, *, render: dict[str, Any]) -> dict[str, Any]:
        job: SaqJob = ctx["job"]
        request, seed, edit = decode_render(render)
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        stepped = asyncio.Event()
        latest: list[dict[str, Any]] = []  # the newest step's meta, handed over by the engine

        def progress(step: int, total: int, preview: PreviewSource | None = None) -> None:
            # The engine thread, inside the step: the preview is valid only now.
            meta: dict[str, Any] = {"step": step, "total": total}
            if preview is not None:
                with contextlib.suppress(Exception):  # a failed preview never fails the image
                    meta["preview"] = base64.b64encode(preview()).decode("ascii")
            latest[:] = [meta]
            loop.call_soon_threadsafe(stepped.set)

        def generate() -> Any:
            return self._backend.generate(request, seed, progress, cancel.is_set, edit=edit)

        log.info("render_started", job_key=job.key, seed=seed, steps=request.denoising_steps)
        rendering = loop.run_in_executor(self._engine, generate)
        try:
            # Every update of the job is made here, one after another, and none after the
            # image is returned: an update that landed after SAQ marked the job complete
            # would write it back as running, for good.
            while not rendering.done():
                waiting = asyncio.ensure_future(stepped.wait())
                await asyncio.wait({rendering, waiting}, timeout=BEAT_SECONDS,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                waiting.cancel()
                stepped.clear()
                meta = latest.pop() if latest else None
                try:
                    if meta is not None:
                        await job.update(progress=meta["step"] / max(meta["total"], 1), meta=meta)
                    else:
                        await job.update()  # the heartbeat: a killed worker stops beating
                except Exception as error:
                    # Redis restarting: the image goes on; the next update or the result
                    # reaches it once it is back (within the heartbeat, or it is swept).
                    log.warning("render_update_failed", job_key=job.key, error=type(error).__name__)
            image = rendering.result()
        except (asyncio.CancelledError, GenerationCancelled):
            # Aborted (a cancel on the API node, or a sweep): stop within a step and wait
            # for the engine, so the next render never overlaps this one.
            cancel.set()
            with contextlib.suppress(BaseException):
                await asyncio.shield(rendering)
            log.info("render_stopped", job_key=job.key)
            raise
        except Exception as error:
            # Answered, not raised: SAQ logs a failed job whole, prompt and pixels included.
            log.error(
                "render_failed",
                job_key=job.key,
                device=self._backend.device,
                error_type=type(error).__name__,
                exc_info=error,
            )
            return {"failed": type(error).__name__, "device": self._backend.device}
        log.info("render_done", job_key=job.key, seed=seed)
        return {
            "image": encode_image(image),
            "device": self._backend.device,
            "provenance": dict(self._backend.provenance),
            "worker": {"id": self._description["id"], "host": self._description["host"]},
        }
