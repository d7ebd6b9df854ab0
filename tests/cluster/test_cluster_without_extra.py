"""QUEUE_URL on a default install, where the cluster extra (SAQ, redis-py) is missing:
the service and the worker say which install step adds it; nothing crashes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.live_server import PROJECT_ROOT, environment_without_settings, live_server

MISSING = ("saq", "redis")
QUEUE_URL = "redis://127.0.0.1:9/0"  # never reached: the engine is missing before that


def test_the_service_is_degraded_with_the_install_step(tmp_path: Path) -> None:
    env = {
        "QUEUE_URL": QUEUE_URL,
        "GENERATED_DIR": str(tmp_path / "generated"),
        "LOCAL_WORKER": "false",
    }
    with live_server(env, tmp_path / "server.log", blocked_modules=MISSING) as server:
        health = server.wait_for_health(lambda h: "cluster" in (h.get("reason") or ""), "why")
        refused = httpx.post(f"{server.base_url}/jobs", json={"prompt": "x"}, timeout=10)
    assert health["status"] == "degraded"
    assert 'pip install -e ".[cluster]"' in health["reason"]
    assert refused.status_code == 503


def test_the_worker_says_which_install_step_adds_the_engine() -> None:
    program = (
        f"import runpy, sys; sys.modules.update(dict.fromkeys({list(MISSING)!r})); "
        "sys.argv = ['local-sd', 'worker']; "
        "runpy.run_module('entrypoints.cli', run_name='__main__')"
    )
    env = {**environment_without_settings(), "ENV_FILE": "", "QUEUE_URL": QUEUE_URL}
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        'error: The shared queue needs the cluster extra: pip install -e ".[cluster]" '
        "(make worker installs it)."
    )
