"""Notice the server's exit signal (Ctrl+C, SIGTERM) while requests still wait on jobs.

On that signal uvicorn first waits for open connections to end, and only then runs the
lifespan's shutdown, which cancels the jobs. A `POST /image` or an event stream stays
open as long as its job runs (minutes on a CPU), so without this the server would hang
until the job finished. uvicorn offers no hook an app can use; sse-starlette already
patches its exit handler and exposes the flag, `AppStatus.should_exit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sse_starlette.sse import AppStatus

POLL_SECONDS = 0.25


async def call_on_server_exit(on_exit: Callable[[], None]) -> None:
    """Call ``on_exit`` once the server has been told to stop; cancel to stop watching."""
    while not AppStatus.should_exit:
        await asyncio.sleep(POLL_SECONDS)
    on_exit()
