"""The worker and the service's remote backend, in process, on a real Redis: a backend's
failure is answered as such, and neither SAQ's log nor ours carries the prompt."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.cluster_models import open_queue
from adapters.saq_remote_backend import RemoteBackend, RenderFailed
from adapters.saq_render_worker import RenderWorker, worker_description
from domain.generation_request import GenerationRequest
from tests.support.fakes import FakeBackend
from tests.support.redis_server import RedisServer

SECRET_PROMPT = "a portrait of the neighbour's secret"
REPO = "OpenVINO/test-model"


def test_a_backend_failure_is_answered_without_the_prompt_in_any_log(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    backend = FakeBackend(error=RuntimeError("the device fell over"))
    description = worker_description(backend, {"repo_id": REPO, "revision": None}, "w-1")
    description["host"] = "pc-01"
    request = GenerationRequest(prompt=SECRET_PROMPT, num_inference_steps=2, width=64, height=64)
    steps: list[int] = []

    async def scenario() -> None:
        worker_queue = open_queue(redis_server.url, REPO)
        service_queue = open_queue(redis_server.url, REPO)
        worker = RenderWorker(worker_queue, backend, description)
        working = asyncio.create_task(worker.run())
        remote = RemoteBackend(service_queue, asyncio.get_running_loop(), description)
        try:
            with pytest.raises(RenderFailed, match="RuntimeError on CPU"):
                await asyncio.to_thread(
                    remote.generate, request, 5, lambda step, *_: steps.append(step), lambda: False
                )
        finally:
            await worker.stop()
            await working
            await worker_queue.disconnect()
            await service_queue.disconnect()

    asyncio.run(scenario())
    assert backend.calls_by_prompt() == [(SECRET_PROMPT, 5)]
    assert SECRET_PROMPT not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("saq") and r.levelno >= 40]
