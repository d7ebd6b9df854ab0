"""The one server-sent-events reader of the tests: `GET /jobs/{id}/events` as (kind, data) pairs.

It follows the SSE rules the service's stream relies on: an event ends at a blank line,
several `data:` lines join with newlines, `:` lines are comments (sse-starlette's pings),
and an event cut off before its blank line is dropped, as a browser's EventSource does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerSentEvent(NamedTuple):
    kind: str
    data: Any  # the JSON the service sent


def parse_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events from the stream's lines (line breaks already removed), as each one ends."""
    kind = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(kind or "message", json.loads("\n".join(data)))
            kind, data = "", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)


class _StreamedResponse(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def read(self) -> bytes: ...
    def iter_lines(self) -> Iterator[str]: ...


class StreamingClient(Protocol):
    """Starlette's TestClient (an httpx2 client) and a real server's httpx client alike."""

    def stream(self, method: str, url: str) -> AbstractContextManager[_StreamedResponse]: ...


def stream_events(client: StreamingClient, url: str) -> Iterator[ServerSentEvent]:
    """The events of ``url`` as they arrive; the request is made on the first ``next()``."""
    with client.stream("GET", url) as response:
        assert response.status_code == 200, response.read()
        content_type = response.headers["content-type"]
        assert content_type.startswith("text/event-stream"), content_type
        yield from parse_events(response.iter_lines())


class StreamOpenedSignal:
    """The app, wrapped to tell when an event stream's answer has started.

    The service registers a stream's subscriber before it answers, so from then on the stream
    misses nothing: a test can let a held job go. It is told by the server side because a
    test client may hand over the body only when it is complete (Starlette's TestClient
    before 1.8, which is what Python 3.10 gets).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.opened = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/events"):
            await self.app(scope, receive, send)
            return

        async def send_and_signal(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                self.opened.set()

        await self.app(scope, receive, send_and_signal)
