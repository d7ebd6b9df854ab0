"""The one way a test waits for something it cannot be told about: poll it until a deadline.

Prefer an event the code under test signals (a `threading.Event`, a stream's next message,
a process's exit). Where there is none, poll the observable state with `wait_until`: the
deadline is only there so a broken build fails instead of hanging, and it never decides
whether a test passes on a fast machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    what: str,
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    context: Callable[[], object] | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    ``what`` names the awaited state for the failure message, and ``context`` (e.g. a
    server's log) is called once on failure to say what the state was instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, context))
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T | None],
    what: str,
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    context: Callable[[], object] | None = None,
) -> T:
    """`wait_until` for a test running on an event loop: yields to it between polls."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, context))
        await asyncio.sleep(interval)


def _timed_out(what: str, timeout: float, context: Callable[[], object] | None) -> str:
    message = f"timed out after {timeout:g} s waiting for {what}"
    if context is None:
        return message
    return f"{message}\n{context()}"
