"""`GET /jobs/{id}/events`: a job's progress as Server-Sent Events.

A client that stops reading would hold its stream, and the memory of what is queued for
it, as long as the job runs: a send that waits longer than SSE_SEND_TIMEOUT_SECONDS ends
the stream (the job goes on). One client may hold MAX_STREAMS_PER_CLIENT streams at once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import structlog
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from domain.errors import RateLimited
from entrypoints.app_state import services
from entrypoints.capped_counts import CappedCounts
from entrypoints.client_identity import client_of
from entrypoints.client_limits import ensure_visible
from entrypoints.presenters import event_json

# A slot frees when a stream ends, which the client decides: a guess, not a promise.
STREAM_SLOT_RETRY_SECONDS = 5
# At the server's exit every job is cancelled and each stream ends with its final event
# within a step; only a wedged engine needs sse-starlette to cut a stream off.
STREAM_SHUTDOWN_GRACE_SECONDS = 30.0

log = structlog.get_logger("http")


class JobEventStream(EventSourceResponse):
    """An event stream that gives its client's slot back when it ends, however it ends."""

    def __init__(
        self,
        events: AsyncIterator[ServerSentEvent],
        streams: CappedCounts,
        client: str,
        send_timeout: float,
    ) -> None:
        super().__init__(
            events,
            ping=15,
            headers={"Cache-Control": "no-store"},
            send_timeout=send_timeout,
            shutdown_grace_period=STREAM_SHUTDOWN_GRACE_SECONDS,
        )
        self._streams, self._client = streams, client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # The response cannot be finished (that send would wait too): returning
            # unfinished makes uvicorn close the connection, with a line of its own.
            log.info("stream_closed_client_not_reading", seconds=self.send_timeout)
        finally:
            self._streams.give_back(self._client)


async def job_events(request: Request) -> Response:
    built = services(request)
    client = client_of(request).id
    streams = built.open_streams
    if not streams.take(client):
        raise RateLimited(
            f"This client already has {streams.limit} event streams open; close one and try again.",
            retry_after_seconds=STREAM_SLOT_RETRY_SECONDS,
        )
    try:
        ensure_visible(request, built.service.get(request.path_params["job_id"]))
        events = built.service.subscribe(request.path_params["job_id"])
    except BaseException:
        streams.give_back(client)
        raise

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            data = event_json(event.data, built.settings)
            yield ServerSentEvent(data=json.dumps(data), event=event.kind)

    return JobEventStream(stream(), streams, client, built.settings.sse_send_timeout_seconds)
