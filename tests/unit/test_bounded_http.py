"""The bounded httptools protocol on a hand-made connection: a fake transport that records
what the server writes, a small ASGI app, and header timers the test fires itself (the
real event loop runs the app)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from entrypoints import server_options
from entrypoints.bounded_http import BoundedHttpToolsProtocol
from entrypoints.bounded_http_check import _try_bounds, bounded_protocol
from entrypoints.settings import Settings

LIMIT = 1024


class Transport(asyncio.Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop, peer: str = "192.0.2.7") -> None:
        super().__init__({"peername": (peer, 50000), "sockname": ("127.0.0.1", 8000)})
        self.loop = loop
        self.protocol: asyncio.Protocol | None = None
        self.written = b""
        self.closed = False
        self.reading = True
        self.activity = asyncio.Event()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)
        self.activity.set()

    def close(self) -> None:
        if not self.closed and self.protocol is not None:
            self.loop.call_soon(self.protocol.connection_lost, None)
        self.closed = True
        self.activity.set()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def answers(self) -> list[bytes]:
        return [part for part in self.written.split(b"HTTP/1.1 ")[1:]]


class Timer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    """The running loop, except that timers wait until the test fires them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.timers: list[Timer] = []
        self.skipped = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    def time(self) -> float:
        """The loop's clock, plus the time a test says has passed."""
        return self._loop.time() + self.skipped

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(callback)
        self.timers.append(timer)
        return timer

    def header_timers(self, name: str = "_headers_timed_out") -> list[Timer]:
        """The header timers armed and not cancelled (not uvicorn's keep-alive timer)."""
        return [
            timer
            for timer in self.timers
            if not timer.cancelled and timer.callback.__name__ == name
        ]

    def body_timers(self) -> list[Timer]:
        return self.header_timers("_body_timed_out")

    def fire(self, name: str = "_headers_timed_out") -> None:
        """Runs the header (or body) timers armed so far, as if their time had come."""
        for timer in self.header_timers(name):
            timer.cancelled = True
            timer.callback()


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers each request with its method, path and the length of its body."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({"method": scope["method"], "path": scope["path"], "body": size}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Connection:
    def __init__(
        self,
        app: Callable[..., Awaitable[None]] = echo,
        protocol: type[BoundedHttpToolsProtocol] | None = None,
        peer: str = "192.0.2.7",
        skipped: float = 0.0,
    ) -> None:
        running = asyncio.get_running_loop()
        self.loop = Loop(running)
        self.loop.skipped = skipped
        self.transport = Transport(running, peer)
        protocol = protocol or bounded_protocol(LIMIT, 10.0, 4)
        config = Config(app=app, ws="none", lifespan="off", log_config=None)
        self.protocol = protocol(
            config=config, server_state=ServerState(), app_state={}, _loop=self.loop
        )
        self.transport.protocol = self.protocol
        self.protocol.connection_made(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.data_received(data)

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        async def changes() -> None:
            while not condition():
                await self.transport.activity.wait()
                self.transport.activity.clear()

        try:  # the bound is only there so a broken build fails, never a measure
            await asyncio.wait_for(changes(), 10)
        except asyncio.TimeoutError as error:
            written = self.transport.written
            raise AssertionError(f"timed out waiting for {what}: {written!r}") from error


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def get(path: str, padding: int = 0) -> bytes:
    pad = b"X-Padding: " + b"a" * padding + b"\r\n" if padding else b""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + pad + b"\r\n"


def test_headers_past_the_limit_in_one_piece_get_431_in_the_error_shape() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(get("/health", padding=2 * LIMIT))
        await connection.until(lambda: connection.transport.closed, "the connection to close")
        head, _, body = connection.transport.written.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        assert b"connection: close" in head and b"content-type: application/json" in head
        error = json.loads(body)["error"]
        assert error["type"] == "headers_too_large" and error["details"] == []
        assert f"x-request-id: {error['request_id']}".encode() in head
        assert "1 KiB" in error["message"]

    run(test)


def test_headers_trickled_past_the_limit_are_refused_when_the_limit_is_passed() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(b"GET /health HTTP/1.1\r\nX-Padding: ")
        sent = 32
        while sent <= LIMIT:
            connection.send(b"a" * 100)
            sent += 100
        await connection.until(lambda: connection.transport.closed, "the connection to close")
        assert connection.transport.answers()[0].startswith(b"431 ")
        # What the client sends after the refusal is not read.
        connection.send(b"a" * 100_000)

    run(test)


def test_a_body_larger_than_the_limit_is_not_counted_as_headers() -> None:
    async def test() -> None:
        connection = Connection()
        body = b"b" * (4 * LIMIT)
        head = f"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        connection.send(head + body)
        await connection.until(lambda: len(connection.transport.answers()) == 1, "an answer")
        answer = connection.transport.answers()[0]
        assert answer.startswith(b"200 ") and b'"body": 4096' in answer
        assert not connection.transport.closed

    run(test)


def test_each_request_on_a_keep_alive_connection_has_the_whole_limit() -> None:
    async def test() -> None:
        connection = Connection()
        for number in range(1, 6):
            connection.send(get(f"/r{number}", padding=LIMIT - 100))

            def answered(count: int = number) -> bool:
                return len(connection.transport.answers()) == count

            await connection.until(answered, f"answer {number}")
        assert all(answer.startswith(b"200 ") for answer in connection.transport.answers())
        assert not connection.transport.closed

    run(test)


def test_pipelined_requests_are_answered_in_order() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(b"".join(get(f"/p{n}", padding=LIMIT - 100) for n in range(3)))
        await connection.until(lambda: len(connection.transport.answers()) == 3, "3 answers")
        paths = [
            json.loads(a.partition(b"\r\n\r\n")[2])["path"] for a in connection.transport.answers()
        ]
        assert paths == ["/p0", "/p1", "/p2"]
        assert not connection.transport.closed

    run(test)


def test_a_silent_connection_is_closed_at_the_header_timeout() -> None:
    async def test() -> None:
        connection = Connection()
        assert len(connection.loop.header_timers()) == 1
        connection.loop.fire()
        assert connection.transport.closed and connection.transport.written == b""

    run(test)


def test_a_request_whose_headers_trickle_is_closed_at_the_header_timeout() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(get("/first"))
        await connection.until(lambda: len(connection.transport.answers()) == 1, "an answer")
        # Idle between requests: no header timer (uvicorn's keep-alive timeout applies).
        assert connection.loop.header_timers() == []
        connection.send(b"GET /second HTTP/1.1\r\n")
        connection.send(b"Host: 1")
        assert len(connection.loop.header_timers()) == 1
        connection.loop.fire()
        assert connection.transport.closed

    run(test)


def test_headers_complete_in_time_stop_the_timer_and_the_body_has_none() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(b"POST /jobs HTTP/1.1\r\nHost: x\r\n")
        connection.send(b"Content-Length: 10\r\n\r\n01234")
        assert connection.loop.header_timers() == []
        connection.send(b"56789")
        await connection.until(lambda: len(connection.transport.answers()) == 1, "an answer")
        assert b'"body": 10' in connection.transport.written
        assert not connection.transport.closed

    run(test)


def test_the_timer_waits_while_the_server_is_not_reading() -> None:
    async def test() -> None:
        connection = Connection()
        connection.send(b"GET /slow HTTP/1.1\r\n")
        connection.transport.pause_reading()
        connection.protocol.flow.read_paused = True
        connection.loop.fire()
        assert not connection.transport.closed
        assert len(connection.loop.header_timers()) == 1  # armed again
        connection.protocol.flow.read_paused = False
        connection.loop.fire()
        assert connection.transport.closed

    run(test)


def test_a_timeout_during_an_answer_lets_the_answer_finish_then_closes() -> None:
    async def test() -> None:
        release = asyncio.Event()

        async def slow(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()
            await echo(scope, receive, send)

        connection = Connection(slow)
        connection.send(get("/slow") + b"GET /next HTTP/1.1\r\nHo")
        connection.loop.fire()
        assert not connection.transport.closed
        connection.send(b"st: x\r\n\r\n")  # dropped: the connection is ending
        release.set()
        await connection.until(lambda: connection.transport.closed, "the connection to close")
        answers = connection.transport.answers()
        assert len(answers) == 1 and answers[0].startswith(b"200 ")
        assert b"connection: close" in answers[0]

    run(test)


def test_a_protocol_that_does_not_bound_headers_is_found_out() -> None:
    class Unbounded(BoundedHttpToolsProtocol):
        def data_received(self, data: bytes) -> None:
            HttpToolsProtocol.data_received(self, data)

    assert _try_bounds(Unbounded) == "endless headers were not refused"
    assert _try_bounds(BoundedHttpToolsProtocol) is None


def test_the_server_runs_the_bounded_protocol() -> None:
    options = server_options.uvicorn_options(
        Settings(header_timeout_seconds=3, max_connections=100)
    )
    protocol = options["http"]
    assert issubclass(protocol, BoundedHttpToolsProtocol)
    assert (protocol.max_header_bytes, protocol.header_timeout_seconds) == (32 * 1024, 3)
    assert protocol.shares.limit == 25  # a quarter of MAX_CONNECTIONS
    assert "h11_max_incomplete_event_size" not in options
    # X-Forwarded-For from a local process must not pick the client's address.
    assert options["proxy_headers"] is False


def test_without_the_bounded_protocol_the_server_runs_h11_with_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from entrypoints import bounded_http, bounded_http_check

    def changed(*limits: float) -> Any:
        raise bounded_http.UvicornChanged("endless headers were not refused")

    monkeypatch.setattr(bounded_http_check, "bounded_protocol", changed)
    options = server_options.uvicorn_options(Settings())
    assert options["http"] == "h11"
    assert options["h11_max_incomplete_event_size"] == 32 * 1024


async def answer_at_once(scope: Any, receive: Any, send: Any) -> None:
    """Answers without reading the body, as a route refusing it (401, 413) does."""
    body = b"{}"
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def post(length: int) -> bytes:
    return f"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()


def test_the_rest_of_a_body_answered_early_is_read_then_the_connection_closes() -> None:
    async def test() -> None:
        connection = Connection(answer_at_once)
        connection.send(post(10) + b"01234")
        await connection.until(lambda: len(connection.transport.answers()) == 1, "an answer")
        assert connection.transport.answers()[0].startswith(b"413 ")
        # The client may still be uploading: it reads its answer, no reset.
        assert not connection.transport.closed and len(connection.loop.body_timers()) == 1
        connection.send(b"56789")
        assert connection.transport.closed and connection.loop.body_timers() == []

    run(test)


def test_the_rest_of_a_body_answered_early_must_arrive_in_time() -> None:
    async def test() -> None:
        connection = Connection(answer_at_once)
        connection.send(post(100) + b"{")
        await connection.until(lambda: len(connection.transport.answers()) == 1, "an answer")
        connection.send(b"a")  # a byte now and then would keep uvicorn's connection for good
        assert not connection.transport.closed
        connection.loop.fire("_body_timed_out")
        assert connection.transport.closed

    run(test)


def test_an_answer_after_the_body_s_time_is_up_closes_the_connection_at_once() -> None:
    async def test() -> None:
        release = asyncio.Event()

        async def late(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()  # as json_body does, until the 408
            await answer_at_once(scope, receive, send)

        connection = Connection(late)
        connection.send(post(100) + b"{")
        connection.loop.skipped = 10.0
        release.set()
        await connection.until(lambda: connection.transport.closed, "the connection to close")
        assert len(connection.transport.answers()) == 1
        assert connection.loop.body_timers() == []

    run(test)


def test_a_body_complete_before_the_answer_keeps_the_connection() -> None:
    async def test() -> None:
        connection = Connection(answer_at_once)
        connection.send(post(10) + b"0123456789" + get("/next"))
        await connection.until(lambda: len(connection.transport.answers()) == 2, "2 answers")
        assert not connection.transport.closed and connection.loop.body_timers() == []

    run(test)


def test_past_the_per_address_cap_a_connection_gets_503_and_is_closed() -> None:
    async def test() -> None:
        protocol = bounded_protocol(LIMIT, 10.0, 2)
        held = [Connection(protocol=protocol), Connection(protocol=protocol)]
        refused = Connection(protocol=protocol)
        other = Connection(protocol=protocol, peer="192.0.2.8")
        assert refused.transport.closed and not other.transport.closed
        head, _, body = refused.transport.written.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert b"connection: close" in head
        error = json.loads(body)["error"]
        assert error["type"] == "service_unavailable" and "2 connections" in error["message"]
        refused.send(get("/ignored"))  # nothing is read from a refused connection
        assert len(refused.transport.answers()) == 1
        await asyncio.sleep(0)  # the refused connection's connection_lost runs
        assert protocol.shares.open == {"192.0.2.7": 2, "192.0.2.8": 1}
        held[0].transport.close()
        await asyncio.sleep(0)
        assert protocol.shares.open == {"192.0.2.7": 1, "192.0.2.8": 1}
        again = Connection(protocol=protocol)
        again.send(get("/after"))
        await again.until(lambda: len(again.transport.answers()) == 1, "an answer")
        assert again.transport.answers()[0].startswith(b"200 ")
        for connection in (held[1], other, again):
            connection.transport.close()
        await asyncio.sleep(0)
        assert protocol.shares.open == {}

    run(test)


def test_refusals_are_logged_once_a_minute_per_address() -> None:
    async def test() -> None:
        reported: list[tuple[str, object]] = []

        class Recording(bounded_protocol(LIMIT, 10.0, 1)):  # type: ignore[misc]
            def _report(self, event: str, **fields: object) -> None:
                reported.append((event, fields["address"]))

        Connection(protocol=Recording)
        for _ in range(3):
            Connection(protocol=Recording)
        Connection(protocol=Recording, peer="192.0.2.8")
        Connection(protocol=Recording, peer="192.0.2.8")
        Connection(protocol=Recording, skipped=60.0)
        event = "connections_per_client_exceeded"
        assert reported == [(event, "192.0.2.7"), (event, "192.0.2.8"), (event, "192.0.2.7")]

    run(test)
