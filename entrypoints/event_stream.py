"""`GET /jobs/{id}/events`: a job's progress as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from entrypoints.app_state import services
from entrypoints.presenters import event_json

# At the server's exit every job is cancelled and each stream ends with its final event
# within a step; only a wedged engine needs sse-starlette to cut a stream off.
STREAM_SHUTDOWN_GRACE_SECONDS = 30.0


async def job_events(request: Request) -> Response:
    built = services(request)
    events = built.service.subscribe(request.path_params["job_id"])

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            data = event_json(event.data, built.settings)
            yield ServerSentEvent(data=json.dumps(data), event=event.kind)

    return EventSourceResponse(
        stream(),
        ping=15,
        headers={"Cache-Control": "no-store"},
        shutdown_grace_period=STREAM_SHUTDOWN_GRACE_SECONDS,
    )
