"""Reading a request body within a size limit and a time limit that follows the network.

Size: a declared Content-Length over the limit is refused before anything is read, and
the body as soon as what has arrived passes the limit, so no more than that is held.

Time: a body keeps its connection while it keeps arriving. It may take
HEADER_TIMEOUT_SECONDS plus one second for every 64 KiB that has arrived (512 kbit/s: a
20 MB upload over a phone's or a busy Wi-Fi's connection takes minutes), and no gap
between two of its pieces may last longer than HEADER_TIMEOUT_SECONDS. One deadline for
the whole body refused uploads that were still arriving (20 MB within 10 seconds needs
16 Mbit/s); the gap alone would let a client hold a connection, and its place among
MAX_CONNECTIONS, for good with a byte now and then. A body that never arrives gets the
time its headers had, as before. bounded_http closes the connection after an early
answer (408, 413) when the rest of the body is still missing.

Each caller keeps its own media types (415) and words for the 413.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.requests import Request

from entrypoints.http_errors import HttpError

MIN_BYTES_PER_SECOND = 64 * 1024
"""The slowest steady rate a body may arrive at, beyond its first gap's allowance."""


async def read_body(
    request: Request,
    *,
    limit: int,
    too_large: str,
    gap_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The whole body; 413 with ``too_large`` past ``limit`` bytes, 408 when it stops
    arriving for ``gap_seconds`` or arrives slower than the allowance above, and
    starlette's ClientDisconnect (499) when the client leaves."""
    if declared_too_large(request.headers.get("content-length"), limit):
        raise HttpError(413, too_large)
    started = last = clock()
    # Starlette's stream: it takes a body a middleware already read, raises
    # ClientDisconnect (499) when the client leaves, and marks the body consumed.
    pieces = request.stream().__aiter__()
    chunks: list[bytes] = []
    size = 0
    while True:
        # Whichever comes first: the gap since the last piece, or the allowance so far.
        gap_ends = last + gap_seconds
        allowance_ends = started + gap_seconds + size / MIN_BYTES_PER_SECOND
        now = clock()
        if allowance_ends <= now:
            raise HttpError(408, _too_slow(size, now - started, gap_seconds))
        try:
            # (asyncio.wait_for, not asyncio.timeout, which Python 3.10 lacks.)
            chunk = await asyncio.wait_for(pieces.__anext__(), min(gap_ends, allowance_ends) - now)
        except StopAsyncIteration:
            return b"".join(chunks)
        except asyncio.TimeoutError:
            if allowance_ends < gap_ends:
                raise HttpError(408, _too_slow(size, clock() - started, gap_seconds)) from None
            raise HttpError(408, _stopped(size, gap_seconds)) from None
        last = clock()
        size += len(chunk)
        if size > limit:
            raise HttpError(413, too_large)
        chunks.append(chunk)


def declared_too_large(declared: str | None, limit: int) -> bool:
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), and a length too long
    # for int() to read is too large for any limit.
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return False
    return len(declared) > len(str(limit)) or int(declared) > limit


def _stopped(size: int, gap_seconds: float) -> str:
    if size == 0:
        return f"The body did not arrive within {gap_seconds:g} seconds of its headers."
    return (
        f"The body stopped arriving: nothing came for {gap_seconds:g} seconds after "
        f"its first {size:,} bytes."
    )


def _too_slow(size: int, elapsed: float, gap_seconds: float) -> str:
    return (
        f"The body arrived too slowly: {size:,} bytes in {elapsed:.1f} seconds. A body may "
        f"take {gap_seconds:g} seconds plus one second for every "
        f"{MIN_BYTES_PER_SECOND // 1024} KiB."
    )
