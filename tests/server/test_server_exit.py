"""Leaving at once after an exit signal while a download or compile cannot be interrupted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from entrypoints.settings import PROJECT_ROOT

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
