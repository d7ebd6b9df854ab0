"""Calls into the app at the ASGI level, for what a TestClient cannot do: a request whose
headers a test writes byte for byte, and a client that leaves while its job waits.

`json_post_scope` is a JSON POST's scope as uvicorn hands it over; `post_and_leave_once_queued`
sends a whole body, then disconnects as soon as a job waits in the queue (behind one the
test holds running), and returns the statuses the app answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.testclient import TestClient
from starlette.types import Message

from tests.support.waiting import wait_until_async


def json_post_scope(path: str, *headers: tuple[bytes, bytes]) -> dict[str, object]:
    """A JSON POST as uvicorn hands it over, for the receive/send a test controls."""
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
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def post_and_leave_once_queued(
    client: TestClient, path: str, body: Mapping[str, Any], *headers: tuple[bytes, bytes]
) -> list[int]:
    """POST ``body`` to ``path`` on ``client``'s app (on its event loop), leave once a
    job waits in the queue, and return the statuses of the answers started (a bare 499
    is ``[499]``). The test holds a job running first, so that the call's job waits;
    a job that never comes to wait fails the test rather than hanging it."""
    data = json.dumps(body).encode()
    scope = json_post_scope(path, (b"content-length", str(len(data)).encode()), *headers)
    queue = client.app.state.services.service.queue  # type: ignore[attr-defined]
    incoming: list[Message] = [
        {"type": "http.request", "body": data, "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if len(incoming) == 1:  # the body is in: leave once the call's job waits
            await wait_until_async(lambda: queue.waiting, f"a job of {path} to wait in the queue")
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)

    assert client.portal is not None, "use the client inside `with TestClient(...)`"
    client.portal.call(call)
    return [message["status"] for message in sent if message["type"] == "http.response.start"]
