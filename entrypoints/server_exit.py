"""Notice the server's exit signal (Ctrl+C, SIGTERM, Ctrl+Break) while requests wait on jobs.

On that signal uvicorn first waits for open connections to end, and only then runs the
lifespan's shutdown, which cancels the jobs. A `POST /image` or an event stream stays
open as long as its job runs (minutes on a CPU), so without this the server would hang
until the job finished. uvicorn offers no hook an app can use; sse-starlette already
patches its exit handler and exposes the flag, `AppStatus.should_exit`. uvicorn handles
SIGINT and SIGTERM everywhere and SIGBREAK (Ctrl+Break) on Windows with that handler, so
the flag is set for each of them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
import threading
from collections.abc import Callable

import structlog
from sse_starlette.sse import AppStatus

from application.model_lifecycle import ModelLifecycle

POLL_SECONDS = 0.25

log = structlog.get_logger("server")


async def call_on_server_exit(on_exit: Callable[[], None]) -> None:
    """Call ``on_exit`` once the server has been told to stop; cancel to stop watching."""
    while not AppStatus.should_exit:
        await asyncio.sleep(POLL_SECONDS)
    on_exit()


def leave_at_once_if_model_work_runs(lifecycle: ModelLifecycle | None) -> None:
    """Last in the lifespan's shutdown: after an exit signal, leave while model work runs.

    A download or a load runs in a daemon thread so that Ctrl+C stops the server at once,
    and neither can be interrupted. Finalising the interpreter under a running OpenVINO
    compile crashes the process (SIGSEGV), and the interpreter joins the hub library's
    download threads (before any ``atexit`` hook) until the last file arrives. The next
    start repairs a half-finished download; a compile starts over. Without an exit signal
    (a failed start, an in-process test client) the normal exit and its code stand.
    """
    if lifecycle is None or not AppStatus.should_exit:
        return
    work = lifecycle.work_in_progress
    if work is None:
        return
    log.info(f"stopped_during_model_{work}", resumes="at the next start")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def guard_forced_exit(lifecycle: ModelLifecycle | None) -> None:
    """The same guard at interpreter exit, for a forced exit (a second Ctrl+C).

    uvicorn then skips the lifespan's shutdown, and with it the call above; a compile
    still running in its daemon thread would crash the interpreter's finalisation.
    (A download thread is joined before ``atexit`` runs, so only the first Ctrl+C's
    path can cut that short.)
    """
    atexit.register(leave_at_once_if_model_work_runs, lifecycle)


def end_like_ctrl_c_on_ctrl_break() -> None:
    """On Windows, make Ctrl+Break end the server as cleanly as Ctrl+C; elsewhere nothing.

    Call it before ``uvicorn.run``. While serving, uvicorn handles both keys alike. After
    its shutdown it raises the signal again under the handler that was there before it
    started: for Ctrl+C that is Python's KeyboardInterrupt, which ``uvicorn.run`` catches
    (exit code 0); for Ctrl+Break it would be the C runtime's default, which ends the
    process at once with code 3, unflushed output lost. Not for `uvicorn main:app`: uvicorn
    imports the app after installing its own handlers, which this would replace.
    """
    ctrl_break = getattr(signal, "SIGBREAK", None)
    if ctrl_break is None or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(ctrl_break, signal.default_int_handler)
