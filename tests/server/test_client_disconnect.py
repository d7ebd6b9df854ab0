"""A client of the synchronous `POST /image` that leaves: queued work is dropped, running kept.

Needs a real server (the test transport never disconnects), and a backend the test
controls: uvicorn runs the app in a thread of this process with a fake backend.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend
from tests.support.live_server import free_port
from tests.support.waiting import wait_until

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
    wait_until(lambda: uv_server.started, "uvicorn to start", timeout=30)
    try:
        yield f"http://127.0.0.1:{port}", backend
    finally:
        assert backend.hold is not None
        backend.hold.set()
        uv_server.should_exit = True
        thread.join(timeout=30)


def jobs_by_prompt(base_url: str) -> dict[str, dict[str, object]]:
    jobs = httpx.get(f"{base_url}/jobs", timeout=5).json()["jobs"]
    return {job["params"]["prompt"]: job for job in jobs}


def wait_for_status(base_url: str, prompt: str, status: str) -> None:
    wait_until(
        lambda: jobs_by_prompt(base_url).get(prompt, {}).get("status") == status,
        f"the {prompt!r} job to be {status}",
        context=lambda: jobs_by_prompt(base_url),
    )


def post_and_give_up(base_url: str, prompt: str, status: str) -> None:
    """`POST /image` on a connection of its own, closed once its job is ``status``: a client
    that leaves while it waits, at a point the test knows (not after a client timeout)."""
    port = int(base_url.rsplit(":", 1)[1])
    body = json.dumps({"prompt": prompt, **SMALL}).encode()
    head = (
        f"POST /image HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        wait_for_status(base_url, prompt, status)


def test_queued_job_of_a_departed_client_is_cancelled_running_one_finishes(
    server: tuple[str, FakeBackend],
) -> None:
    base_url, backend = server
    post_and_give_up(base_url, "running", "running")  # held by the backend when its client leaves
    post_and_give_up(base_url, "queued", "queued")  # waits behind it; its client leaves
    wait_for_status(base_url, "queued", "cancelled")
    assert jobs_by_prompt(base_url)["running"]["status"] == "running"
    assert backend.hold is not None
    backend.hold.set()
    wait_for_status(base_url, "running", "succeeded")
    listed = httpx.get(f"{base_url}/images", timeout=5).json()["images"]
    assert [job["params"]["prompt"] for job in listed] == ["running"]
    assert [prompt for prompt, _ in backend.calls_by_prompt()] == ["running"]
