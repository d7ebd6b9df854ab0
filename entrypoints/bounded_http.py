"""uvicorn's httptools protocol with a bound on each request's line and headers, in bytes
and in time, on the rest of a body the app answered before reading, and on the connections
one address holds.

httptools, uvicorn's fastest parser, buffers a request's headers without limit (20 MB
tried) and uvicorn times nothing out before a request's headers are complete (a client
that connects and sends nothing, or trickles a byte at a time, keeps its connection).
h11 has a size limit but costs 0.3-0.6 ms a request; this subclass keeps httptools' speed:
- Size: the bytes read while a request's line and headers are incomplete are counted
  (counted as fed, because httptools holds a header's pieces itself until the header ends,
  so its callbacks come too late to bound an endless one); past the limit the client gets
  431 in the one error shape and the connection closes. One read of up to 256 KiB that
  ends a request can carry the next pipelined one's start uncounted: the bound is the
  limit plus one read.
- Time: the headers must be complete within the timeout from the moment the connection
  opens, and from a later request's first byte. The wait for that first byte is uvicorn's
  keep-alive timeout. Time the server itself spends not reading (a pipelined request
  waiting its turn) does not count against the client.
- A body: the app bounds what it reads (json_body: 408). When the app answers before the
  body is complete (408, 413, 401 ...), uvicorn would go on reading and dropping the rest
  with no timer at all; here the rest must arrive within the same timeout from the headers,
  and the connection closes once it has (or when the time is up, at once after a 408).
  Draining rather than closing at once lets a client still uploading read its 413 instead
  of a connection reset.
- Connections per address (address_shares): past its share a new connection gets 503 in
  the error shape and is closed. The counts live on the class that
  `bounded_http_check.bounded_protocol` builds, one per server.

Read against uvicorn 0.54.0 and httptools 0.9.0. Of uvicorn's protocol this relies on:
the parser callbacks on_message_begin, on_headers_complete, on_message_complete;
data_received (to feed the parser and answer its errors), connection_made,
connection_lost, on_response_complete, handle_websocket_upgrade; the attributes loop,
transport, flow.read_paused, cycle (response_complete, keep_alive), client and
server_state.default_headers. `bounded_http_check.bounded_protocol`
tries the class on a fake connection first and raises UvicornChanged when any of that no
longer holds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, ClassVar

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.address_shares import AddressShares
from entrypoints.http_errors import error_body

log = structlog.get_logger("http")

HEADERS_TOO_LARGE = "headers_too_large"


class UvicornChanged(Exception):
    """The installed uvicorn no longer works the way this protocol was written for."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 32 * 1024
    header_timeout_seconds = 10.0
    # Shared by every connection of one server.
    shares: ClassVar[AddressShares] = AddressShares(128)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes the current request's line and headers may still take; None while there
        # is no such limit (its headers are complete, its body is arriving).
        self._header_room: int | None = self.max_header_bytes
        # A request's headers are due: from the connection's start, or a request's first byte.
        self._headers_due = True
        self._header_timer: asyncio.TimerHandle | None = None
        # Past a bound while an answer is still being sent: what the client sends is dropped.
        self._refusing = False
        # The current request's body is still arriving, and by when it must have.
        self._body_pending = False
        self._body_due = 0.0
        self._body_timer: asyncio.TimerHandle | None = None
        # The address this connection counts against, until it is given back.
        self._counted_address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self._address()
        if address is not None:
            if not self.shares.take(address):
                self._refuse_connection(address)
                return
            self._counted_address = address
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._give_back_slot()
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The connection passes to another protocol, whose connection_lost is not ours.
        self._give_back_slot()
        self._cancel_header_timer()
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._refusing:
            return
        room = self._header_room
        if room is None or len(data) <= room:
            if room is not None:
                self._header_room = room - len(data)
            super().data_received(data)
        else:
            self._receive_past_room(data)
        if self._headers_due and self._header_timer is None and not self.transport.is_closing():
            self._arm_header_timer()

    def _receive_past_room(self, data: bytes) -> None:
        """Feeds only what fits, so the parser never holds more than the limit."""
        while data:
            room = self._header_room
            if room is None:
                super().data_received(data)
                return
            if room == 0:
                self._refuse_large_headers()
                return
            piece, data = data[:room], data[room:]
            self._header_room = 0
            super().data_received(piece)
            if self.transport.is_closing():
                return

    # Parser callbacks
    def on_message_begin(self) -> None:
        self._headers_due = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._headers_due = False
        self._header_room = None
        self._cancel_header_timer()
        # Cleared at once by on_message_complete when there is no body, before any answer.
        self._body_pending = True
        self._body_due = self.loop.time() + self.header_timeout_seconds
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._header_room = self.max_header_bytes
        self._body_pending = False
        if self._body_timer is not None:
            # The rest of an answered request's body is in: uvicorn armed no keep-alive
            # timer for what follows (each read cancels it), so the connection ends here.
            self._cancel_body_timer()
            self.transport.close()
            return
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Answered before its body was complete (a later pipelined request is not parsed
        # while an answer is pending, so self.cycle is the one answered).
        if not (self._body_pending and self.cycle.response_complete):
            return
        if self.transport.is_closing():
            return
        remaining = self._body_due - self.loop.time()
        if remaining <= 0:
            self.transport.close()
        else:
            self._body_timer = self.loop.call_later(remaining, self._body_timed_out)

    # The bounds
    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(
            self.header_timeout_seconds, self._headers_timed_out
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if not self._headers_due or self.transport.is_closing():
            return
        if self.flow.read_paused:
            # The server is not reading (a pipelined request waits its turn): not the
            # client's delay.
            self._arm_header_timer()
            return
        self._report(
            "request_headers_timed_out",
            seconds=self.header_timeout_seconds,
            address=self._address(),
        )
        if not self._answering():
            self.transport.close()

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        self._report(
            "request_body_timed_out",
            seconds=self.header_timeout_seconds,
            address=self._address(),
        )
        self.transport.close()

    def _refuse_connection(self, address: str) -> None:
        self._refusing = True
        limit = self.shares.limit
        if self.shares.refusal_to_log(address, self.loop.time()):
            self._report("connections_per_client_exceeded", limit=limit, address=address)
        message = f"This address holds {limit} connections already: close some and retry."
        self._send_error_and_close(b"503 Service Unavailable", "service_unavailable", message)

    def _give_back_slot(self) -> None:
        address, self._counted_address = self._counted_address, None
        if address is not None:
            self.shares.give_back(address)

    def _refuse_large_headers(self) -> None:
        self._report(
            "request_headers_too_large", limit_bytes=self.max_header_bytes, address=self._address()
        )
        if self._answering():
            return
        message = (
            f"The request line and headers are larger than {self.max_header_bytes // 1024} KiB."
        )
        self._send_error_and_close(
            b"431 Request Header Fields Too Large", HEADERS_TOO_LARGE, message
        )

    def _send_error_and_close(self, status: bytes, status_type: str, message: str) -> None:
        request_id = uuid.uuid4().hex
        body = json.dumps(error_body(status_type, message, request_id)).encode()
        content = [b"HTTP/1.1 " + status + b"\r\n"]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-request-id: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))
        self.transport.close()

    def _answering(self) -> bool:
        """True when an earlier request's answer is still being sent: it is let finish, the
        connection closes after it, and nothing more is read meanwhile."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return False
        cycle.keep_alive = False
        self._refusing = True
        return True

    def _address(self) -> str | None:
        return self.client[0] if self.client else None

    def _report(self, event: str, **fields: object) -> None:
        log.info(event, **fields)
