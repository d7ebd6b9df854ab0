"""Pure ASGI middleware: request ids, one access-log line and count per request, last-resort 500s.

It sits outside everything else so that even an unexpected error gets the
JSON error shape and the ``X-Request-ID`` header, and its details stay in the log.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.service_metrics import ServiceMetrics
from entrypoints.http_errors import send_error

log = structlog.get_logger("http")

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

UNMATCHED = "unmatched"
"""The route label of a request no route matches: random paths share one series."""


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._metrics: ServiceMetrics | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                log.error("unhandled_error", error_type=type(error).__name__, exc_info=error)
                if response_started:
                    raise
                await send_error(
                    send_with_id, 500, "internal_error", "Internal server error.", request_id
                )
            finally:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    # Bound by the authentication middleware inside this one, so named here.
                    client=getattr(scope.get("state", {}).get("client"), "id", None),
                )
                self._count(scope, status)

    def _count(self, scope: Scope, status: int) -> None:
        # Found at the first request: the app's object graph is attached after the
        # middleware is built, and stays the same for the app's life.
        metrics = self._metrics = self._metrics or _metrics_of(scope)
        if metrics is not None:
            metrics.request_answered(route_template(scope), scope["method"], status)


def _metrics_of(scope: Scope) -> ServiceMetrics | None:
    state = getattr(scope.get("app"), "state", None)
    metrics = getattr(getattr(state, "services", None), "metrics", None)
    return metrics if isinstance(metrics, ServiceMetrics) else None


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (``/jobs/{job_id}``), never the raw path.

    The router leaves its route in the scope; a request answered before routing (refused
    by a middleware) is matched here against the app's routes, so it still counts under
    the route it was for.
    """
    route = scope.get("route") or _matching_route(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _matching_route(scope: Scope) -> BaseRoute | None:
    routes: list[BaseRoute] = getattr(scope.get("app"), "routes", [])
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return route
    return None


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _CLIENT_ID.fullmatch(candidate) else None
    return None
