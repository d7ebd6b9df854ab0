"""A second server on a running server's GENERATED_DIR leaves at once and touches nothing.

uvicorn runs the app's start-up (recovery, the worker) before it binds its port, so without
the folder's lock a second server would mark the first one's running job interrupted and
run its queue, whether its own bind then failed (the same port) or not (another port).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live_server import (
    PROJECT_ROOT,
    LiveServer,
    environment_without_settings,
    free_port,
    live_server,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

# At 0.5 s a step the first job runs for 50 s unless cancelled, far past B's three refusals
# (a few seconds each): nothing of A's changes while B starts.
LONG = {"num_inference_steps": 100, "width": 64, "height": 64}
SHORT = {"num_inference_steps": 1, "width": 64, "height": 64}


def job(server: LiveServer, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server.base_url}/jobs/{job_id}", timeout=5).json()
    return body


def records(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.json"))}


def second_server(env: dict[str, str], command: list[str], port: int) -> tuple[int, str]:
    """Run B to its end: its exit code and everything it printed."""
    full_env = environment_without_settings()
    full_env.update(
        {"ENV_FILE": "", "HOST": "127.0.0.1", "PORT": str(port), "LOG_FORMAT": "json", **env}
    )
    result = subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,  # it is refused at once; only a regression serves on
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_second_server_on_the_same_folder_refuses_and_leaves_the_jobs_alone(
    tmp_path: Path,
) -> None:
    generated = tmp_path / "generated"
    env = {
        "USE_MOCKS": "true",
        "MOCK_STEP_SECONDS": "0.5",
        "GENERATED_DIR": str(generated),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    with live_server(env, tmp_path / "a.log") as a:
        submitted = [
            httpx.post(f"{a.base_url}/jobs", json={"prompt": f"job {n}", **steps}, timeout=5)
            for n, steps in enumerate((LONG, SHORT, SHORT))
        ]
        assert [answer.status_code for answer in submitted] == [202] * 3
        running, *waiting = (answer.json()["job_id"] for answer in submitted)
        wait_until(
            lambda: job(a, running)["progress"]["step"] >= 1,
            "A's first job to make a step",
            timeout=30,
            context=a.log,
        )
        before = records(generated)
        a_port = a.base_url.rsplit(":", 1)[1]

        serve = ["-m", "entrypoints.cli", "serve"]
        other_port = str(free_port())
        by_uvicorn = ["-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", other_port]
        for what, command, port in (
            ("local-sd serve on another port", serve, str(free_port())),
            ("an identical local-sd serve", serve, a_port),
            ("uvicorn main:app on another port", by_uvicorn, other_port),
        ):
            code, output = second_server(env, command, int(port))
            assert code != 0, f"{what} started:\n{output}"
            lines = output.strip().splitlines()
            refusal = f"(GENERATED_DIR) is in use by a local-sd server (pid {a.process.pid},"
            ours = next((n for n, line in enumerate(lines) if refusal in line), None)
            assert ours is not None and str(generated) in lines[ours], f"{what}:\n{output}"
            if command is serve:
                assert code == 2 and len(lines) == 1, f"{what}:\n{output}"
            else:  # our line, then uvicorn's traceback and its own last word
                assert '"level": "error"' not in "".join(lines[:ours]), output
                assert "Traceback" in lines[ours + 1], output
                assert "Application startup failed" in lines[-1], output
            assert "job_" not in output, f"{what} touched the jobs:\n{output}"
            assert records(generated) == before, f"{what} rewrote A's records"

        assert job(a, running)["status"] == "running"
        assert [job(a, job_id)["status"] for job_id in waiting] == ["queued", "queued"]
        # The long job has shown it is A's alone; the waiting ones now run to success.
        assert httpx.delete(f"{a.base_url}/jobs/{running}", timeout=30).status_code == 200
        wait_until(
            lambda: all(job(a, job_id)["status"] == "succeeded" for job_id in waiting),
            "A's waiting jobs to succeed",
            timeout=60,
            context=a.log,
        )
        assert job(a, running)["status"] == "cancelled"
        assert "job_interrupted" not in a.log()
