"""An OpenAI images call whose client leaves while its job waits: a bare 499, and the job
is dropped from the queue, as `POST /image` does."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from starlette.types import Message

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend
from tests.support.waiting import wait_until, wait_until_async


def generations_scope(length: int) -> dict[str, Any]:
    path = "/v1/images/generations"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def test_a_client_that_leaves_while_its_job_waits_gets_499_and_drops_it(
    tmp_path: Path,
) -> None:
    backend = FakeBackend(hold=threading.Event())
    app = create_app(make_settings(tmp_path), backend=backend)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            ahead = client.post("/jobs", json={"prompt": "ahead", "width": 64, "height": 64})
            wait_until(lambda: backend.calls, "the job ahead to run")
            body = json.dumps({"prompt": "a lighthouse", "size": "64x64"}).encode()
            incoming: list[Message] = [
                {"type": "http.request", "body": body, "more_body": False},
                {"type": "http.disconnect"},
            ]
            sent: list[Message] = []
            queue = client.app.state.services.service.queue

            async def receive() -> Message:
                if len(incoming) == 1:
                    # Left only once the call's job waits behind the held one.
                    await wait_until_async(lambda: queue.waiting, "the call's job to be queued")
                return incoming.pop(0)

            async def send(message: Message) -> None:
                sent.append(message)

            async def call() -> None:
                await client.app(generations_scope(len(body)), receive, send)

            assert client.portal is not None
            client.portal.call(call)
            assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [499]
            jobs = client.get("/jobs").json()["jobs"]
            dropped = [job for job in jobs if job["job_id"] != ahead.json()["job_id"]]
            assert [job["status"] for job in dropped] == ["cancelled"]
    finally:
        assert backend.hold is not None
        backend.hold.set()
