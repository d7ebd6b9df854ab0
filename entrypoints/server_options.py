"""The options `local-sd serve` hands uvicorn: where to listen, TLS, and limits on clients.

The limits are uvicorn's own (README "Slow and idle clients" says which remain):
- KEEP_ALIVE_SECONDS closes a connection idle after its last answer;
- MAX_CONNECTIONS bounds open connections plus running requests: past it every new
  request gets uvicorn's plain-text 503 at once, before our app; MAX_CONNECTIONS_PER_CLIENT
  bounds one address's share of them (entrypoints.bounded_http, 503 in the error shape);
- a request's line and headers are bounded in size (431 past MAX_HEADER_BYTES) and in
  time (HEADER_TIMEOUT_SECONDS) by entrypoints.bounded_http, uvicorn's httptools protocol
  with those bounds: uvicorn has no header timeout at all, httptools no size limit (20 MB
  of headers, tried), and h11, which has one, costs 0.3-0.6 ms a request. The same
  protocol bounds the rest of a body the app answered early. Should that protocol not fit
  the installed uvicorn, the server runs h11 with its incomplete-event limit (400 past it,
  no header timeout, no per-address cap) rather than start without a size bound;
- under TLS a socket that never starts its handshake is held for asyncio's handshake
  timeout (60 s; uvicorn 0.54 does not expose `ssl_handshake_timeout`); it reaches no
  protocol until then, so it takes no place among MAX_CONNECTIONS, only a file descriptor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from entrypoints.event_stream import STREAM_SHUTDOWN_GRACE_SECONDS
from entrypoints.settings import Settings, SettingsError

# A request line and headers larger than this are refused: browsers send under 8 KiB, and a
# session cookie and an Authorization header add well under 1 KiB more.
MAX_HEADER_BYTES = 32 * 1024

log = structlog.get_logger("cli")


def tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The certificate and key to serve HTTPS with, or None for plain HTTP.

    Raises SettingsError (one line) when only one is set or a file cannot be read.
    """
    cert, key = settings.ssl_certfile, settings.ssl_keyfile
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = (
            ("SSL_CERTFILE", "SSL_KEYFILE") if key is None else ("SSL_KEYFILE", "SSL_CERTFILE")
        )
        raise SettingsError(
            f"Invalid setting {given}: HTTPS needs both SSL_CERTFILE and SSL_KEYFILE; "
            f"set {missing} too, or neither for plain HTTP."
        )
    for name, path in (("SSL_CERTFILE", cert), ("SSL_KEYFILE", key)):
        if not path.is_file():
            raise SettingsError(
                f"Invalid setting {name}={str(path)!r}: no such file; give the path of a "
                "PEM file (README: Sharing on a network)."
            )
    return cert, key


def serving_url(settings: Settings) -> str:
    scheme = "https" if tls_files(settings) else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{scheme}://{host}:{settings.port}/"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Raises SettingsError (one line) for TLS settings that cannot be used."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # Our middleware logs each request once; uvicorn's access log would double it.
        "access_log": False,
        "log_level": settings.log_level.lower(),
        # uvicorn's own handlers print plain text; without them its records reach the
        # handler configure_logging installed and come out in LOG_FORMAT like ours.
        "log_config": None,
        **http_protocol(settings),
        # The service has no WebSocket routes: an Upgrade request is served as plain HTTP
        # by the bounded protocol instead of leaving it for an unbounded one.
        "ws": "none",
        # uvicorn would take X-Forwarded-For from 127.0.0.1 as the client's address: any
        # local process could then pick the address the wrong-key throttle and the
        # per-client limits count (README: behind a proxy all clients share its address).
        "proxy_headers": False,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
        # At the exit uvicorn waits for every connection to close, and one whose client
        # stopped reading never does: a stream ends its last send after the send timeout,
        # and uvicorn's close then waits for the client to take the buffered bytes.
        # Past this bound uvicorn stops waiting and the lifespan's shutdown runs.
        "timeout_graceful_shutdown": STREAM_SHUTDOWN_GRACE_SECONDS
        + settings.sse_send_timeout_seconds,
    }
    files = tls_files(settings)
    if files is not None:
        options["ssl_certfile"], options["ssl_keyfile"] = (str(path) for path in files)
    return options


def http_protocol(settings: Settings) -> dict[str, Any]:
    """uvicorn's `http` option, and its header size limit when that is an option of its own."""
    try:
        from entrypoints.bounded_http import UvicornChanged
        from entrypoints.bounded_http_check import bounded_protocol
    except ImportError as error:  # httptools not installed, or uvicorn's module moved
        reason = f"{type(error).__name__}: {error}"
    else:
        try:
            protocol = bounded_protocol(
                MAX_HEADER_BYTES,
                settings.header_timeout_seconds,
                settings.connections_per_client,
            )
        except UvicornChanged as error:
            reason = str(error)
        else:
            return {"http": protocol}
    log.warning(
        "header_timeout_unavailable",
        reason=reason,
        fallback="h11 with a 32 KiB header limit and no header timeout",
    )
    return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEADER_BYTES}
