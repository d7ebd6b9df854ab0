"""Accepted work survives the process: kill -9 a server with jobs waiting, start it again.

The running job shows as failed ("interrupted"); the waiting ones run to success in the
order they were accepted, under the same ids and seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live_server import live_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

# 10 steps of 0.5 s: the first job runs for 5 s, long enough to be killed while running.
RUNNING = {"num_inference_steps": 10, "width": 64, "height": 64}
# The waiting ones only have to run to success after the restart: one step each.
WAITING = {"num_inference_steps": 1, "width": 64, "height": 64}


def jobs_by_id(base_url: str) -> dict[str, dict[str, Any]]:
    listed = httpx.get(f"{base_url}/jobs", timeout=5).json()["jobs"]
    return {job["job_id"]: job for job in listed}


def test_kill_9_keeps_waiting_jobs_and_marks_the_running_one_interrupted(tmp_path: Path) -> None:
    env = {
        "USE_MOCKS": "true",
        "MOCK_STEP_SECONDS": "0.5",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    submitted: list[dict[str, Any]] = []
    with live_server(env, tmp_path / "first.log") as server:
        for n in range(6):
            body = {"prompt": f"job {n}", "seed": 100 + n, **(WAITING if n else RUNNING)}
            answer = httpx.post(f"{server.base_url}/jobs", json=body, timeout=5)
            assert answer.status_code == 202, answer.text
            submitted.append(answer.json())
        running_id = submitted[0]["job_id"]
        wait_until(
            lambda: jobs_by_id(server.base_url)[running_id]["progress"]["step"] >= 1,
            "the first job to make a step",
            timeout=30,
            context=server.log,
        )
        server.process.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        server.process.wait(timeout=30)

    waiting_ids = [job["job_id"] for job in submitted[1:]]
    with live_server(env, tmp_path / "second.log") as server:
        jobs = jobs_by_id(server.base_url)
        assert jobs[running_id]["status"] == "failed"
        assert jobs[running_id]["error"]["type"] == "interrupted"
        assert "Submit it again" in jobs[running_id]["error"]["message"]
        assert jobs[running_id]["images"] == []
        # Same ids, same seeds; every one still known and not lost.
        for job in submitted[1:]:
            assert jobs[job["job_id"]]["seed"] == job["seed"]
            assert jobs[job["job_id"]]["status"] in ("queued", "running", "succeeded")

        def all_succeeded() -> dict[str, dict[str, Any]] | None:
            current = jobs_by_id(server.base_url)
            done = all(current[job_id]["status"] == "succeeded" for job_id in waiting_ids)
            return current if done else None

        finished = wait_until(
            all_succeeded, "the requeued jobs to succeed", timeout=120, context=server.log
        )
        started = [finished[job_id]["started_at"] for job_id in waiting_ids]
        assert started == sorted(started)  # in the order they were accepted
        for job_id in waiting_ids:
            assert finished[job_id]["images"], finished[job_id]
        assert '"event": "jobs_requeued"' in server.log()
