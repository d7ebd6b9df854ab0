"""Pure ASGI middleware: who is asking, and whether they may.

With API keys, every route but the public ones needs `Authorization: Bearer <key>`,
`Authorization: Basic` with the key as password (or as user, with no password), or the
session cookie `POST /session` sets. Without keys the service serves loopback only,
unless ALLOW_OPEN_ACCESS is set: under `uvicorn --host 0.0.0.0` the app learns where it
listens from each connection, so a request that arrived on a network address is refused
there.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from functools import lru_cache

import structlog
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from entrypoints.access import Access
from entrypoints.client_identity import Client, anonymous_client
from entrypoints.http_errors import send_error
from entrypoints.network_addresses import normal_address
from entrypoints.remedies import HOW_TO_SET_A_KEY

log = structlog.get_logger("auth")

SESSION_COOKIE = "local_sd_session"
_CHALLENGE = b'Bearer realm="local-sd", Basic realm="local-sd"'
# A browser answers a Basic challenge to its own fetch() with a password dialog over the
# page's sign-in form: script requests get the Bearer challenge alone.
_SCRIPT_CHALLENGE = b'Bearer realm="local-sd"'
_PUBLIC_PATHS = frozenset({"/health/live", "/health/ready", "/session"})
_PUBLIC_PREFIXES = ("/static/",)


def signed_in_client(connection: HTTPConnection) -> Client | None:
    """The client the middleware identified; None for an anonymous caller of a public route."""
    client = connection.scope.get("state", {}).get("client")
    return client if isinstance(client, Client) else None


def address_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access
        self._refusal_logged = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; the app has no websocket route
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.access.keys.enabled:
            if not self.access.open_access and not _arrived_on_loopback(scope):
                self._log_refusal_once(scope)
                await _send_error(scope, send, 403, "forbidden", HOW_TO_SET_A_KEY)
                return
            state["client"] = anonymous_client(scope)
            await self._call_as(state["client"], scope, receive, send)
            return
        client, refusal = self._identify(scope)
        public = _is_public(scope["method"], scope["path"])
        if client is None and not public:
            await _refuse(scope, send, refusal)
            return
        if client is not None:
            state["client"] = client
        await self._call_as(client, scope, receive, send)

    def _identify(self, scope: Scope) -> tuple[Client | None, tuple[int, str, int | None]]:
        """The client, or why not: (status, message, Retry-After) for a protected route."""
        authorizations: list[str] = []
        cookies: list[str] = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorizations.append(value.decode("latin-1"))
            elif name == b"cookie":
                cookies.append(value.decode("latin-1"))
        if not authorizations:
            session = cookie_parser("; ".join(cookies)).get(SESSION_COOKIE) if cookies else None
            client = self.access.client_for_session(session) if session else None
            if client is None and session:
                return None, (401, "The session has expired: sign in again.", None)
            return client, (401, "This service needs an API key.", None)
        address = address_of(scope)
        wait = self.access.throttled(address)
        if wait is not None:
            return None, (429, "Too many wrong keys from this address: wait and retry.", wait)
        key = _presented_key(authorizations)
        client = self.access.client_for_key(key) if key is not None else None
        if client is None:
            self.access.record_failure(address, "malformed" if key is None else "wrong_key")
            return None, (401, "The API key is wrong.", None)
        return client, (0, "", None)

    async def _call_as(
        self, client: Client | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if client is None:
            await self.app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(client=client.id):
            await self.app(scope, receive, send)

    def _log_refusal_once(self, scope: Scope) -> None:
        if not self._refusal_logged:
            self._refusal_logged = True
            server = scope.get("server")
            log.warning("network_request_refused", local_address=server[0] if server else None)


def _presented_key(authorizations: list[str]) -> str | None:
    """The key in a single Bearer or Basic credential; None for anything else."""
    if len(authorizations) != 1:
        return None
    scheme, _, credential = authorizations[0].strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential:
        return credential
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return _key_in_basic(decoded)
    return None


def _key_in_basic(decoded: str) -> str | None:
    """The key in a Basic credential, as the tools that only know user and password send
    it: `user:<key>` (webuiapi's `set_auth`, Open WebUI's "API Auth" field), `<key>:`
    (the key typed as the user), or `<key>` alone (a field without a colon, base64'd as
    typed). A key never holds a colon, so the password is always the key when present."""
    user, colon, password = decoded.partition(":")
    key = password if colon and password else user
    return key or None


def _is_public(method: str, path: str) -> bool:
    if path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES):
        return True
    return path == "/" and method in ("GET", "HEAD")


def _arrived_on_loopback(scope: Scope) -> bool:
    """Whether the connection's local address is loopback; a unix socket or a test
    transport (no address, or a name) is local too."""
    server = scope.get("server")
    return not server or _local_address_is_loopback(str(server[0]))


@lru_cache(maxsize=64)
def _local_address_is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(normal_address(host)).is_loopback
    except ValueError:
        return True  # a unix socket's path, a test transport's name


async def _refuse(scope: Scope, send: Send, refusal: tuple[int, str, int | None]) -> None:
    status, message, retry_after = refusal
    if status == 429:
        headers = [(b"retry-after", str(retry_after).encode())]
        await _send_error(scope, send, 429, "rate_limited", message, headers)
        return
    challenge = _CHALLENGE
    for name, value in scope["headers"]:
        if name == b"sec-fetch-mode" and value not in (b"navigate", b""):
            challenge = _SCRIPT_CHALLENGE
    await _send_error(scope, send, 401, "unauthorized", message, [(b"www-authenticate", challenge)])


async def _send_error(
    scope: Scope,
    send: Send,
    status: int,
    status_type: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    request_id = scope.get("state", {}).get("request_id")
    await send_error(send, status, status_type, message, request_id, headers)
