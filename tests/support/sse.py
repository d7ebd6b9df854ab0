"""The one server-sent-events reader of the tests: `GET /jobs/{id}/events` as (kind, data) pairs.

It follows the SSE rules the service's stream relies on: an event ends at a blank line,
several `data:` lines join with newlines, `:` lines are comments (sse-starlette's pings),
and an event cut off before its blank line is dropped, as a browser's EventSource does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol


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
