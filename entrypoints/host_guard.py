"""Pure ASGI middleware that refuses requests addressed to a foreign host name.

A local service is reachable from any web page the user opens; checking Host
stops DNS-rebinding pages (Ollama's CVE-2024-28224), and checking Origin on
state-changing methods stops cross-site form posts.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from entrypoints.http_errors import send_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def host_name(value: str) -> str:
    """The host part of a Host header or URL authority, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuardMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}
        self.allow_any = "*" in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allow_any:
            await self.app(scope, receive, send)
            return
        headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
        host = host_name(headers.get(b"host", ""))
        if host not in self.allowed:
            await _forbid(
                scope,
                send,
                "Host not allowed: this service answers on loopback names "
                "only (set ALLOWED_HOSTS to add others).",
            )
            return
        origin = headers.get(b"origin")
        unsafe = scope["method"] in _UNSAFE_METHODS
        if origin is not None and unsafe and _origin_host(origin) not in self.allowed:
            await _forbid(scope, send, "Cross-site requests are not allowed.")
            return
        await self.app(scope, receive, send)


def _origin_host(origin: str) -> str:
    """The Origin's host name; "" (never allowed) for "null" or one that does not parse."""
    try:
        return host_name(urlsplit(origin).netloc) if origin != "null" else ""
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
        return ""


async def _forbid(scope: Scope, send: Send, message: str) -> None:
    await send_error(send, 403, "forbidden", message, scope.get("state", {}).get("request_id"))
