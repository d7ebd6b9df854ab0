"""`local-sd worker`: this PC renders images for a service whose queue is on Redis.

It loads the model on its own device (GPU with the CPU fallback, as the service does),
or the mock with USE_MOCKS=true, registers with the queue at QUEUE_URL and renders
until Ctrl+C or SIGTERM. It only connects out, to Redis: the PC needs no open port.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING

import structlog

from application.ports import ImageBackend
from entrypoints.bootstrap import hub_model_store, openvino_loader
from entrypoints.logging_setup import configure_logging
from entrypoints.queue_address import redacted
from entrypoints.remedies import describe
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from saq.queue.redis import RedisQueue

    from adapters.saq_render_worker import RenderWorker

log = structlog.get_logger("worker")

MODEL_CHECK_SECONDS = 5.0
"""How often a worker checks that the service still serves the model it has."""

NEEDS_EXTRA = (
    'The shared queue needs the cluster extra: pip install -e ".[cluster]" '
    "(make worker installs it)."
)


def run_worker(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    if settings.queue_url is None:
        print("error: QUEUE_URL is not set: which Redis should this worker serve?", file=sys.stderr)
        return 2
    try:
        from adapters.cluster_models import mismatch, open_queue, service_model
        from adapters.saq_render_worker import RenderWorker, new_worker_id, worker_description
    except ImportError:
        print(f"error: {NEEDS_EXTRA}", file=sys.stderr)
        return 2
    backend: ImageBackend
    if settings.use_mocks:
        from adapters.mock_backend import MockBackend

        backend = MockBackend(settings.mock_step_seconds)
        revision = None
    else:
        status = hub_model_store(settings).status()
        if not status.cached:
            from domain.errors import Problem, Remedy

            missing = Problem(
                f"The model {status.repo_id} is not in {status.directory}.",
                (Remedy.DOWNLOAD_MODEL, Remedy.STAGE_MODEL_BY_HAND),
            )
            print(f"error: {describe(missing, settings)}", file=sys.stderr)
            return 1
        revision = status.revision
        backend = openvino_loader(settings)()
    worker_id = new_worker_id()
    description = worker_description(
        backend, {"repo_id": settings.model_repo_id, "revision": revision}, worker_id
    )
    url = settings.queue_url.get_secret_value()

    refused: list[str] = []

    async def watch_the_service(worker: RenderWorker, queue: RedisQueue) -> None:
        """Stop, saying why, when the service serves another revision of the model."""
        while True:
            with contextlib.suppress(Exception):  # Redis away: the worker's own loop says so
                expected = await service_model(queue)
                why = None if expected is None else mismatch(expected, description["model"])
                if why is not None:
                    refused.append(why)
                    log.error(
                        "worker_refused",
                        worker_id=worker_id,
                        reason=f"this PC has {why}",
                        service_model=expected,
                        fix="stage the service's model here (make download) or point "
                        "MODEL_REPO_ID at it",
                    )
                    await worker.stop()
                    return
            await asyncio.sleep(MODEL_CHECK_SECONDS)

    async def work() -> None:
        queue = open_queue(url, settings.model_repo_id)
        worker = RenderWorker(queue, backend, description)
        log.info(
            "worker_started",
            worker_id=worker_id,
            device=backend.device,
            provider=backend.provider,
            queue=redacted(url),
        )
        watch = asyncio.create_task(watch_the_service(worker, queue))
        try:
            await worker.run()
        finally:
            watch.cancel()
            await queue.disconnect()
            log.info("worker_stopped", worker_id=worker_id)

    # Windows: no signal handlers, Ctrl+C arrives as KeyboardInterrupt.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(work())
    return 1 if refused else 0
