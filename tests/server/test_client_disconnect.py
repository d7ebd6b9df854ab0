"""A client of the synchronous `POST /image` that leaves: queued work is dropped, running kept.

Needs a real server (the test transport never disconnects), and a backend the test
controls: uvicorn runs the app in a thread of this process with a fake backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend
from tests.support.live_server import free_port

pytestmark = pytest.mark.server

SMALL = {"width": 64, "height": 64, "num_inference_steps": 3}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, FakeBackend]]:
    backend = FakeBackend(hold=threading.Event())
    app = create_app(make_settings(tmp_path), backend=backend)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv_server = uvicorn.Server(config)
    thread = threading.Thread(target=uv_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv_server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", backend
    finally:
        assert backend.hold is not None
        backend.hold.set()
        uv_server.should_exit = True
        thread.join(timeout=30)


def post_and_give_up(base_url: str, prompt: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base_url}/image", json={"prompt": prompt, **SMALL}, timeout=0.5)


def jobs_by_prompt(base_url: str) -> dict[str, dict[str, object]]:
    jobs = httpx.get(f"{base_url}/jobs", timeout=5).json()["jobs"]
    return {job["params"]["prompt"]: job for job in jobs}


def test_queued_job_of_a_departed_client_is_cancelled_running_one_finishes(
    server: tuple[str, FakeBackend],
) -> None:
    base_url, backend = server
    post_and_give_up(base_url, "running")  # starts, then waits on the held backend
    post_and_give_up(base_url, "queued")  # waits behind it; its client leaves
    deadline = time.monotonic() + 10
    while jobs_by_prompt(base_url).get("queued", {}).get("status") != "cancelled":
        assert time.monotonic() < deadline, jobs_by_prompt(base_url)
        time.sleep(0.05)
    assert jobs_by_prompt(base_url)["running"]["status"] == "running"
    assert backend.hold is not None
    backend.hold.set()
    while jobs_by_prompt(base_url)["running"]["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    listed = httpx.get(f"{base_url}/images", timeout=5).json()["images"]
    assert [job["params"]["prompt"] for job in listed] == ["running"]
    assert [prompt for prompt, _ in backend.calls_by_prompt()] == ["running"]
