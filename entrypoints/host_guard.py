"""Pure ASGI middleware that refuses requests addressed to a foreign host name.

A local service is reachable from any web page the user opens; checking Host
stops DNS-rebinding pages (Ollama's CVE-2024-28224), and checking Origin on
state-changing methods stops cross-site form posts. ALLOWED_HOSTS=* lets any Host
through but keeps the Origin check: a page may only post to its own origin.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from entrypoints.http_errors import send_error
from entrypoints.network_addresses import normal_address

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A host name or IPv4 address, or a bracketed IPv6 address; then an optional port of digits.
_AUTHORITY = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?"
)
_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<authority>[^/?#]*)")


def parse_authority(value: str) -> tuple[str, int | None] | None:
    """(host in lower case without brackets, port or None), or None when malformed."""
    match = _AUTHORITY.fullmatch(value)
    if match is None:
        return None
    host = match["name"]
    if match["ipv6"] is not None:
        try:
            host = ipaddress.IPv6Address(match["ipv6"]).compressed
        except ValueError:
            return None
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and port > 65535:
        return None
    return host.lower(), port


def allowed_name(value: str) -> str:
    """An ALLOWED_HOSTS entry as the Host check compares it: lower case, without port or
    brackets, an IPv6 address (bare or bracketed) in its compressed form."""
    value = value.strip()
    if _is_address(value):
        return normal_address(value)
    parsed = parse_authority(value)
    return parsed[0] if parsed else ""


class HostGuardMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        names = [name.strip() for name in allowed_hosts]
        self.allowed = {allowed_name(name) for name in names if name != "*"} - {""}
        self.allow_any = "*" in names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        origins = [value for name, value in scope["headers"] if name == b"origin"]
        if len(hosts) > 1 or len(origins) > 1:
            await send_error(
                send,
                400,
                "bad_request",
                "A request may carry one Host and one Origin header.",
                _request_id(scope),
            )
            return
        host = parse_authority(hosts[0].decode("latin-1")) if hosts else None
        if host is None or not (self.allow_any or self._allowed(host[0], scope)):
            await _forbid(
                scope,
                send,
                "Host not allowed: this service answers on loopback names "
                "only (set ALLOWED_HOSTS to add others).",
            )
            return
        unsafe = scope["method"] in _UNSAFE_METHODS
        if origins and unsafe and not _same_origin(origins[0].decode("latin-1"), host, scope):
            await _forbid(scope, send, "Cross-site requests are not allowed.")
            return
        await self.app(scope, receive, send)

    def _allowed(self, host: str, scope: Scope) -> bool:
        if host in self.allowed:
            return True
        # The address the connection arrived on, written as an address: no DNS name an
        # attacker controls is involved, so no rebinding (a LAN client of 0.0.0.0).
        server = scope.get("server")
        if not server or not _is_address(host):
            return False
        return host == normal_address(str(server[0]))


def _same_origin(origin: str, host: tuple[str, int | None], scope: Scope) -> bool:
    """Whether Origin names this request's own scheme, host and port."""
    match = _ORIGIN.fullmatch(origin.strip().lower())
    if match is None:
        return False  # "null", another scheme, a path
    authority = parse_authority(match["authority"])
    if authority is None:
        return False
    scheme = str(scope.get("scheme", "http"))
    own = (scheme, host[0], host[1] or _DEFAULT_PORTS.get(scheme))
    claimed = (match["scheme"], authority[0], authority[1] or _DEFAULT_PORTS[match["scheme"]])
    return own == claimed


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _request_id(scope: Scope) -> str | None:
    request_id: str | None = scope.get("state", {}).get("request_id")
    return request_id


async def _forbid(scope: Scope, send: Send, message: str) -> None:
    await send_error(send, 403, "forbidden", message, _request_id(scope))
