"""entrypoints.bounded_body: a body keeps its connection while it keeps arriving.

The body is driven by a ``receive`` this test controls and a fake clock it advances as
each piece "arrives", so minutes of slow network take no time; only a stall waits, for a
gap of a few hundredths of a second, and the test waits for the 408 it causes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from entrypoints.bounded_body import MIN_BYTES_PER_SECOND, read_body
from entrypoints.http_errors import HttpError

KIB = 1024
TOO_LARGE = "The body is too large for this test."


class TricklingClient:
    """Sends ``pieces`` of a body, each ``seconds`` after the one before by its clock,
    then (unless the last said so) nothing more, for ever."""

    def __init__(self, pieces: Iterable[tuple[float, bytes]], *, ends: bool = True) -> None:
        self.now = 1000.0
        self._pieces = list(pieces)
        self._ends = ends
        self.sent = 0

    def clock(self) -> float:
        return self.now

    async def receive(self) -> Message:
        if not self._pieces:
            await asyncio.Event().wait()  # the rest never comes
        seconds, body = self._pieces.pop(0)
        self.now += seconds
        self.sent += len(body)
        more = bool(self._pieces) or not self._ends
        return {"type": "http.request", "body": body, "more_body": more}


def request(receive: object, *headers: tuple[bytes, bytes]) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    return Request(scope, receive)  # type: ignore[arg-type]


def read(
    client: TricklingClient, *, limit: int = 64 * 2**20, gap: float = 10.0, length: int = 0
) -> bytes:
    headers = [(b"content-length", str(length).encode())] if length else []
    return asyncio.run(
        read_body(
            request(client.receive, *headers),
            limit=limit,
            too_large=TOO_LARGE,
            gap_seconds=gap,
            clock=client.clock,
        )
    )


def refusal(client: TricklingClient, **options: float) -> HttpError:
    with pytest.raises(HttpError) as caught:
        read(client, **options)  # type: ignore[arg-type]
    return caught.value


def test_a_body_trickling_steadily_for_longer_than_the_header_timeout_gets_through() -> None:
    # 2 MiB at 100 KiB/s: 20 seconds, twice the 10 the old single deadline allowed.
    piece = bytes(8 * KIB)
    client = TricklingClient([(0.08, piece)] * 256)
    body = read(client, gap=10.0)
    assert len(body) == 2 * 2**20
    assert client.now - 1000.0 > 20


def test_gaps_just_under_the_timeout_are_each_allowed_while_the_body_keeps_up() -> None:
    # A phone on a train: silences of almost the whole gap, each followed by a burst.
    piece = bytes(640 * KIB)
    client = TricklingClient([(9.9, piece)] * 5)
    assert len(read(client, gap=10.0)) == 5 * len(piece)


def test_a_body_steadier_but_slower_than_the_minimum_rate_gets_408_naming_the_rate() -> None:
    # 8 KiB every second never pauses for the gap, but falls behind 64 KiB/s.
    client = TricklingClient([(1.0, bytes(8 * KIB))] * 100)
    error = refusal(client, gap=10.0)
    assert error.status == 408
    assert "too slowly" in error.message
    assert f"{MIN_BYTES_PER_SECOND // KIB} KiB" in error.message
    assert client.sent < 100 * 8 * KIB  # refused while it was still arriving


def test_a_body_that_stops_arriving_gets_408_after_the_gap() -> None:
    client = TricklingClient([(0.0, b"x" * 100)], ends=False)
    error = refusal(client, gap=0.05)
    assert error.status == 408
    assert "stopped arriving" in error.message
    assert "0.05 seconds" in error.message
    assert "100 bytes" in error.message


def test_a_body_that_never_starts_gets_408_after_the_gap() -> None:
    error = refusal(TricklingClient([], ends=False), gap=0.05)
    assert error.status == 408
    assert "did not arrive within 0.05 seconds of its headers" in error.message


def test_a_declared_length_over_the_limit_is_413_before_anything_is_read() -> None:
    client = TricklingClient([(0.0, b"x")])
    error = refusal(client, limit=10, length=11)
    assert (error.status, error.message, client.sent) == (413, TOO_LARGE, 0)


def test_a_body_past_the_limit_is_413_as_it_arrives() -> None:
    client = TricklingClient([(0.0, b"x" * 6)] * 10)
    error = refusal(client, limit=10)
    assert (error.status, client.sent) == (413, 12)


def test_a_body_exactly_at_the_limit_is_taken() -> None:
    assert read(TricklingClient([(0.0, b"x" * 5)] * 2), limit=10) == b"x" * 10


def test_a_client_that_leaves_mid_body_is_a_client_disconnect() -> None:
    incoming: list[Message] = [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return incoming.pop(0)

    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body(request(receive), limit=100, too_large=TOO_LARGE, gap_seconds=1))
