"""The README's setup by hand: `uvicorn main:app` serves the same app as `make serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import PROJECT_ROOT, live_server

pytestmark = pytest.mark.server


def test_uvicorn_main_app_serves_the_service(tmp_path: Path) -> None:
    env = {"USE_MOCKS": "true", "GENERATED_DIR": str(tmp_path / "generated")}
    with live_server(env, tmp_path / "server.log", uvicorn_app="main:app") as server:
        answer = httpx.post(f"{server.base_url}/image", json={"prompt": "a fox"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["mock"] is True
        image = httpx.get(f"{server.base_url}{answer.json()['image_url']}", timeout=10)
        assert image.headers["content-type"] == "image/png"


def test_importing_main_with_a_bad_setting_exits_with_one_line() -> None:
    env = {**os.environ, "ENV_FILE": "", "USE_MOCKS": "maybe"}
    result = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "USE_MOCKS" in lines[0], result.stderr
