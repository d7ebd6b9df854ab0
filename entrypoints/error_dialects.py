"""Pure ASGI middleware that re-shapes this service's error answers into a foreign API's
own shape for the paths under that API's prefix: AUTOMATIC1111's under `/sdapi/`,
OpenAI's under `/v1/`.

It sits outside the Host check and authentication, so every error of a foreign route is
re-shaped wherever it was made: a route's domain error, Starlette's 404/405 inside the
mounts, the body limits' 413/408, the Host check's 400/403, authentication's 401/429.
Only an error answer in our one shape (`{"error": {"type", "message", ...}}`, JSON, at
most `_MAX_ERROR_BYTES`) is touched; images, event streams and successful JSON stream
through untouched, as does anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http_errors import send_error

log = structlog.get_logger("http")

# Our error bodies are a few hundred bytes; anything bigger is not one of them.
_MAX_ERROR_BYTES = 64 * 1024


class ForeignError(NamedTuple):
    """An error as a foreign API answers it."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = {}
    """Added to (or replacing) the original answer's headers."""


ErrorShape = Callable[[int, Mapping[str, Any]], ForeignError]
"""(status, our `error` object) -> the foreign API's status, body and extra headers."""


def field_problems(details: object, said: str = "") -> str:
    """`[{"field": "cfg_scale", "message": "Must be ..."}]` as "cfg_scale: Must be ...",
    leaving out any problem whose message ``said`` (the error's message) already holds: an
    image's error is its one field's message, and would otherwise be told twice."""
    if not isinstance(details, list):
        return ""
    lines = []
    for detail in details:
        if isinstance(detail, Mapping):
            field, message = detail.get("field"), str(detail.get("message") or "").strip()
            if message and message.rstrip(".!?") in said:
                continue
            if message and not message.endswith((".", "!", "?")):
                message += "."
            lines.append(f"{field}: {message}" if field else message)
    return " ".join(line for line in lines if line)


def with_field_problems(message: str, details: object) -> str:
    """``message`` followed by the fields' problems it does not already tell."""
    return " ".join(part for part in (message, field_problems(details, said=message)) if part)


class ErrorDialectMiddleware:
    def __init__(self, app: ASGIApp, dialects: Mapping[str, ErrorShape]) -> None:
        self.app = app
        self.dialects = dict(dialects)
        """Path prefix (ending in "/") -> how errors under it are shaped."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shape = self._shape_for(scope)
        if shape is None:
            await self.app(scope, receive, send)
            return
        reshaper = _Reshaper(send, shape)
        try:
            await self.app(scope, receive, reshaper.send)
        except Exception as error:
            if reshaper.response_started:
                raise
            # RequestContextMiddleware, outside, would answer this in our shape: answer
            # it here, in the foreign one, and log it as it would.
            log.error("unhandled_error", error_type=type(error).__name__, exc_info=error)
            reshaper.forget_held()
            request_id = scope.get("state", {}).get("request_id")
            await send_error(
                reshaper.send, 500, "internal_error", "Internal server error.", request_id
            )

    def _shape_for(self, scope: Scope) -> ErrorShape | None:
        if scope["type"] != "http" or scope.get("method") == "HEAD":
            return None  # a HEAD answer has no body to re-shape
        path: str = scope["path"]
        for prefix, shape in self.dialects.items():
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return shape
        return None


class _Reshaper:
    """Wraps one response's `send`: holds back an error answer's start and body until
    the body is complete, then sends it re-shaped (or as it was, if it is not ours)."""

    def __init__(self, send: Send, shape: ErrorShape) -> None:
        self._send = send
        self._shape = shape
        self._start: Message | None = None
        self._body = bytearray()
        self.response_started = False
        """Whether anything went out: past that, an error can no longer be answered."""

    def forget_held(self) -> None:
        self._start = None
        self._body.clear()

    async def _pass(self, message: Message) -> None:
        self.response_started = True
        await self._send(message)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if _may_be_our_error(message):
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body += message.get("body", b"")
            if len(self._body) > _MAX_ERROR_BYTES:
                await self._release(message.get("more_body", False))
            elif not message.get("more_body", False):
                await self._finish()
            return
        await self._pass(message)

    async def _release(self, more_body: bool) -> None:
        """Not ours after all: send what was held as it was, and stream on."""
        assert self._start is not None
        start, self._start = self._start, None
        await self._pass(start)
        await self._pass(
            {"type": "http.response.body", "body": bytes(self._body), "more_body": more_body}
        )
        self._body.clear()

    async def _finish(self) -> None:
        assert self._start is not None
        error = _our_error(bytes(self._body))
        if error is None:
            await self._release(False)
            return
        start = self._start
        self._start = None
        foreign = self._shape(start["status"], error)
        body = json.dumps(foreign.body).encode()
        await self._pass(
            {
                "type": "http.response.start",
                "status": foreign.status,
                "headers": _headers(start.get("headers", []), foreign.headers, len(body)),
            }
        )
        await self._pass({"type": "http.response.body", "body": body})


def _may_be_our_error(start: Message) -> bool:
    if start["status"] < 400:
        return False
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


def _our_error(body: bytes) -> Mapping[str, Any] | None:
    """The `error` object of our one error shape, or None for any other body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or set(parsed) != {"error"}:
        return None
    error = parsed["error"]
    if not isinstance(error, dict) or not {"type", "message"} <= set(error):
        return None
    return error


def _headers(
    original: list[tuple[bytes, bytes]], extra: Mapping[str, str], length: int
) -> list[tuple[bytes, bytes]]:
    """The original headers (Retry-After, WWW-Authenticate, Allow, ...) with the new
    body's length, and the dialect's own headers in place of any of the same name."""
    replaced = {b"content-length", *(name.lower().encode("latin-1") for name in extra)}
    kept = [(name, value) for name, value in original if name.lower() not in replaced]
    added = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()
    ]
    return [*kept, *added, (b"content-length", str(length).encode())]
