"""The exit path: leaving at once while model work runs, and Ctrl+Break as on Windows."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import STDOUT, Popen

import httpx
import pytest
from sse_starlette.sse import AppStatus

from entrypoints.settings import PROJECT_ROOT
from tests.support.live_server import environment_without_settings, free_port
from tests.support.sse import stream_events
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

# A process whose model load still runs in a daemon thread when its lifespan ends and it
# would exit with code 3.
SCRIPT = """
import threading, time
from sse_starlette.sse import AppStatus
from entrypoints.server_exit import leave_at_once_if_model_work_runs

class Loading:
    work_in_progress = "load"

threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
AppStatus.should_exit = {signalled}
leave_at_once_if_model_work_runs(Loading())
raise SystemExit(3)
"""


def run(signalled: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(signalled=signalled)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_after_an_exit_signal_a_running_load_ends_the_process_at_once() -> None:
    result = run(signalled=True)
    assert result.returncode == 0, result.stderr
    assert "stopped_during_model_load" in result.stdout + result.stderr


def test_without_an_exit_signal_the_exit_code_stands() -> None:
    # e.g. the port is taken: uvicorn exits with an error while the model still loads.
    result = run(signalled=False)
    assert result.returncode == 3, result.stderr
    assert "stopped_during_model" not in result.stdout + result.stderr


# Windows' Ctrl+Break (SIGBREAK), simulated with a signal a test can send: uvicorn handles
# SIGBREAK on Windows (checked below), so here it is told to handle SIGUSR1 the same way.
CTRL_BREAK_SCRIPT = """
import signal, sys
import uvicorn.server
signal.SIGBREAK = signal.SIGUSR1
uvicorn.server.HANDLED_SIGNALS += (signal.SIGBREAK,)
if {without_our_handler}:
    import entrypoints.server_exit
    entrypoints.server_exit.end_like_ctrl_c_on_ctrl_break = lambda: None
from entrypoints.cli import main
sys.exit(main(["demo"]))
"""


@contextmanager
def demo_server(tmp_path: Path, *, without_our_handler: bool) -> Iterator[tuple[str, Popen[str]]]:
    port = free_port()
    env = {
        **environment_without_settings(),
        "ENV_FILE": "",
        "PORT": str(port),
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MOCK_STEP_SECONDS": "1",  # a 100-step job would take 100 s
        "LOG_FORMAT": "json",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log_path = tmp_path / "server.log"
    script = CTRL_BREAK_SCRIPT.format(without_our_handler=without_our_handler)
    with log_path.open("w", encoding="utf-8") as log:
        process = Popen(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, stdout=log,
            stderr=STDOUT, text=True,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"

    def live() -> bool:
        assert process.poll() is None, log_path.read_text(encoding="utf-8")
        try:
            return httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(live, "the demo server answers", timeout=60)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ctrl_break_stops_the_jobs_and_ends_the_server_as_cleanly_as_ctrl_c(
    tmp_path: Path,
) -> None:
    with (
        demo_server(tmp_path, without_our_handler=False) as (base_url, process),
        httpx.Client(base_url=base_url, timeout=60) as client,
    ):
        job = client.post("/jobs", json={"prompt": "a fox", "num_inference_steps": 100}).json()
        events = stream_events(client, job["urls"]["events"])
        assert next(events).kind in {"queued", "started", "progress"}

        process.send_signal(signal.SIGUSR1)

        # The running job is interrupted, not cancelled: it says to submit it again.
        assert [event.kind for event in events][-1] == "failed"
        assert process.wait(timeout=60) == 0  # far less than the job's 100 s
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Application shutdown complete" in log
    assert '"level": "error"' not in log


def test_without_our_handler_ctrl_break_would_end_the_process_by_the_signal(
    tmp_path: Path,
) -> None:
    # The control: uvicorn raises the signal again after its shutdown, under the default.
    with demo_server(tmp_path, without_our_handler=True) as (_, process):
        process.send_signal(signal.SIGUSR1)
        assert process.wait(timeout=60) == -signal.SIGUSR1


def test_uvicorn_handles_ctrl_break_on_windows() -> None:
    # Its module decides at import time; reloaded here as it would load on Windows.
    probe = (
        "import importlib, signal, sys, uvicorn.server\n"
        "sys.platform = 'win32'; signal.SIGBREAK = 21\n"
        "print(21 in importlib.reload(uvicorn.server).HANDLED_SIGNALS)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "True"


def test_every_exit_signal_uvicorn_handles_tells_the_service_to_stop() -> None:
    # sse-starlette wraps uvicorn's handler for all of them; SIGBREAK is 21 on Windows.
    import uvicorn

    from entrypoints import server_exit  # noqa: F401  (imports sse-starlette's wrapper)

    server = uvicorn.Server(uvicorn.Config(app="main:app"))  # not loaded
    try:
        server.handle_exit(21, None)
        assert AppStatus.should_exit and server.should_exit
    finally:
        AppStatus.should_exit = False
