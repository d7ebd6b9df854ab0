"""Trying the bounded protocol on a fake connection before uvicorn gets it.

`bounded_http` relies on uvicorn internals; when an upgrade moves them, this check fails
at start (and `server_options` falls back to h11 with its limit) instead of the service
running without a bound on headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from entrypoints.address_shares import AddressShares
from entrypoints.bounded_http import BoundedHttpToolsProtocol, UvicornChanged


def bounded_protocol(
    max_header_bytes: int, header_timeout_seconds: float, max_connections_per_client: int
) -> type[BoundedHttpToolsProtocol]:
    """The protocol class to hand uvicorn as `http=`, tried on a fake connection first; its
    connections share their counts per address (one class per server).

    Raises UvicornChanged when the installed uvicorn does not bound headers with it.
    """
    protocol = type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "max_header_bytes": max_header_bytes,
            "header_timeout_seconds": header_timeout_seconds,
            "shares": AddressShares(max_connections_per_client),
        },
    )
    try:
        problem = _try_bounds(protocol)
    except Exception as error:  # anything at all: uvicorn's internals moved
        problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        raise UvicornChanged(problem)
    return protocol


def _try_bounds(protocol: type[BoundedHttpToolsProtocol]) -> str | None:
    """Why the protocol does not bound headers on this uvicorn, or None when it does."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    async def no_app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a probe request reached the app")

    class Probe(protocol):  # type: ignore[valid-type,misc]
        reported: list[str] = []
        # Its own counts: the probe's connections are not the server's.
        shares = AddressShares(1)

        def _report(self, event: str, **fields: object) -> None:
            self.reported.append(event)

    config = Config(app=no_app, ws="none", lifespan="off", log_config=None)
    loop: Any = _ProbeLoop()

    endless = _ProbeTransport()
    connection = Probe(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    connection.connection_made(endless)
    connection.data_received(b"GET / HTTP/1.1\r\nX: " + b"a" * protocol.max_header_bytes)
    connection.connection_lost(None)
    if not (endless.written.startswith(b"HTTP/1.1 431 ") and endless.closed):
        return "endless headers were not refused"

    silent = _ProbeTransport()
    loop = _ProbeLoop()
    connection = Probe(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    connection.connection_made(silent)
    loop.run_timers()
    connection.connection_lost(None)
    if not silent.closed:
        return "a silent connection was not closed after the header timeout"

    loop = _ProbeLoop()
    first, second = _ProbeTransport(("192.0.2.1", 1)), _ProbeTransport(("192.0.2.1", 2))
    held = Probe(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    held.connection_made(first)
    refused = Probe(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    refused.connection_made(second)
    refused.connection_lost(None)
    held.connection_lost(None)
    if not (second.written.startswith(b"HTTP/1.1 503 ") and second.closed):
        return "a connection past the per-address cap was not refused"
    if Probe.shares.open:
        return f"connections not given back: {Probe.shares.open}"
    expected = [
        "request_headers_too_large",
        "request_headers_timed_out",
        "connections_per_client_exceeded",
    ]
    if Probe.reported != expected:
        return f"unexpected log events {Probe.reported}"
    return None


class _ProbeTransport(asyncio.Transport):
    def __init__(self, peer: tuple[str, int] | None = None) -> None:
        super().__init__({"peername": peer} if peer else None)
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _ProbeTimer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _ProbeLoop:
    """Only timers, run when asked."""

    def __init__(self) -> None:
        self.timers: list[_ProbeTimer] = []

    def time(self) -> float:
        return 0.0

    def call_later(self, delay: float, callback: Callable[[], None]) -> _ProbeTimer:
        timer = _ProbeTimer(callback)
        self.timers.append(timer)
        return timer

    def run_timers(self) -> None:
        for timer in list(self.timers):
            if not timer.cancelled:
                timer.callback()
