"""To be written: pure ASGI middleware that re-shapes this service's error answers (the
one JSON error shape, from routes and from the middleware alike) into a foreign API's own
shape for the paths under that API's prefix: AUTOMATIC1111's under `/sdapi/`, OpenAI's
under `/v1/`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

ErrorShape = Callable[[int, Mapping[str, Any]], tuple[int, dict[str, Any]]]
"""(status, our `error` object) -> (the status the foreign API uses, its body)."""


class ErrorDialectMiddleware:
    def __init__(self, app: ASGIApp, dialects: Mapping[str, ErrorShape]) -> None:
        self.app = app
        self.dialects = dict(dialects)
        """Path prefix -> how errors under it are shaped."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
