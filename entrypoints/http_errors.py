"""The one JSON error shape, and the one place domain errors become HTTP statuses."""

from __future__ import annotations

import json
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope, Send

from domain.errors import (
    ClientQueueFull,
    DomainError,
    GenerationCancelled,
    GenerationFailed,
    GenerationTimeout,
    ImageNotFound,
    InsufficientStorage,
    InvalidImage,
    InvalidRequest,
    InvalidTransition,
    JobNotFound,
    QueueFull,
    RateLimited,
    ServiceUnavailable,
    UnsupportedOption,
    UploadNotFound,
)
from entrypoints.app_state import services
from entrypoints.remedies import describe

log = structlog.get_logger("http")

# nginx's convention for "the client closed the request": never a server error.
CLIENT_CLOSED_REQUEST = 499
# The order `Allow` lists methods in.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_STATUS: dict[type[DomainError], tuple[int, str]] = {
    InvalidRequest: (422, "validation_error"),
    UnsupportedOption: (422, "validation_error"),
    ServiceUnavailable: (503, "service_unavailable"),
    GenerationTimeout: (504, "generation_timeout"),
    GenerationFailed: (500, "generation_failed"),
    GenerationCancelled: (409, "cancelled"),
    InvalidTransition: (409, "conflict"),
    JobNotFound: (404, "not_found"),
    ImageNotFound: (404, "not_found"),
    UploadNotFound: (404, "not_found"),
    InvalidImage: (422, "invalid_image"),
    QueueFull: (429, "queue_full"),
    ClientQueueFull: (429, "client_queue_full"),
    RateLimited: (429, "rate_limited"),
    InsufficientStorage: (507, "insufficient_storage"),
}

_HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "rate_limited",
    507: "insufficient_storage",
}


class HttpError(Exception):
    """An error found by the HTTP layer itself (body, media type, host)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(
    status_type: str,
    message: str,
    request_id: str | None,
    details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "error": {
            "type": status_type,
            "message": message,
            "details": details or [],
            "request_id": request_id,
        }
    }


def error_response(
    status: int,
    status_type: str,
    message: str,
    request_id: str | None,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(status_type, message, request_id, details), status_code=status, headers=headers
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status, status_type = next(
        (value for kind, value in _STATUS.items() if isinstance(exc, kind)), (500, "internal_error")
    )
    message = describe(exc.problem, services(request).settings)
    if isinstance(exc, InvalidImage) and exc.too_large:
        status, status_type = 413, "payload_too_large"
        message = f"{message} MAX_UPLOAD_MB sets this limit."
    details = [{"field": d.field, "message": d.message} for d in getattr(exc, "details", [])]
    headers = {}
    retry_after = getattr(exc, "retry_after_seconds", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return error_response(status, status_type, message, _request_id(request), details, headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(
        exc.status, _HTTP_TYPES.get(exc.status, "error"), exc.message, _request_id(request)
    )


async def handle_starlette_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "Not found.", 405: "Method not allowed."}.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(
        exc.status_code,
        _HTTP_TYPES.get(exc.status_code, "error"),
        message,
        _request_id(request),
        headers=headers,
    )


def allowed_methods(request: Request) -> str:
    """Every method of every route of this path, inside mounts too: Starlette's 405 names
    only the first route's. The static files' mount, the only other source of 405,
    serves GET and HEAD."""
    scope = request.scope
    # Inside a mount the scope is the mount's: the app's routes match from the app's root.
    app_scope = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    methods = _route_methods(request.app.router.routes, app_scope)
    return ", ".join(method for method in _METHOD_ORDER if method in (methods or {"GET", "HEAD"}))


def _route_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Route) and route.methods:
            methods |= route.methods
        elif isinstance(route, Mount) and route.routes:
            methods |= _route_methods(route.routes, {**scope, **child_scope})
    return methods


async def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client left while sending its body: nothing to answer, nothing went wrong here."""
    log.info("client_disconnected", method=request.method, path=request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


EXCEPTION_HANDLERS = {
    DomainError: handle_domain_error,
    HttpError: handle_http_error,
    HTTPException: handle_starlette_http_exception,
    ClientDisconnect: handle_client_disconnect,
}


async def send_error(
    send: Send,
    status: int,
    status_type: str,
    message: str,
    request_id: str | None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send an error response straight from ASGI middleware, outside any route."""
    body = json.dumps(error_body(status_type, message, request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
