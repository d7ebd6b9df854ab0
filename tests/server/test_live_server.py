"""The service as users run it: a real uvicorn process on a loopback port."""

from __future__ import annotations

import io
import json
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from entrypoints.settings import PROJECT_ROOT
from tests.support.live_server import live_server
from tests.support.sse import stream_events
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

SECRET_PROMPT = "a secret prompt about a violet heron"


def pyproject_version() -> str | None:
    """[project] version read by a TOML parser, not the service's own regex; on Python 3.10,
    which has no tomllib, None (the rest of the test still runs there)."""
    if sys.version_info >= (3, 11):
        import tomllib

        project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        version: str = project["project"]["version"]
        return version
    return None


def test_mock_server_generates_serves_logs_and_stops_cleanly(tmp_path: Path) -> None:
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    with live_server(env, tmp_path / "server.log") as server:
        response = httpx.post(
            f"{server.base_url}/image",
            json={"prompt": SECRET_PROMPT, "width": 320, "height": 192, "seed": 9},
            headers={"x-request-id": "e2e-1"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == "e2e-1"
        body = response.json()
        png = httpx.get(f"{server.base_url}{body['image_url']}", timeout=10)
        assert png.status_code == 200
        picture = Image.open(io.BytesIO(png.content))
        picture.load()
        assert (picture.format, picture.size) == ("PNG", (320, 192))
        files = sorted(p.name for p in (tmp_path / "generated").iterdir())
        # With the lock that keeps a second server off this folder.
        assert files == [".server.lock", f"{body['job_id']}.json", f"{body['job_id']}.png"]
        assert httpx.get(f"{server.base_url}/", timeout=10).status_code == 200
        health = httpx.get(f"{server.base_url}/health", timeout=10).json()
        assert health["version"] == (pyproject_version() or health["version"])
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0

    # LOG_FORMAT=json: every line is JSON, uvicorn's own and the startup line included.
    lines = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    serving = next(line for line in lines if line["event"] == "serving")
    assert serving["url"] == f"{server.base_url}/"
    assert any(line.get("logger") == "uvicorn.error" for line in lines)
    # One line per request: ours, not uvicorn's access log as well.
    assert len([line for line in lines if line["event"] == "request" and line["path"] == "/"]) == 1
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]
    requests = [line for line in lines if line["event"] == "request"]
    generate = next(line for line in requests if line["path"] == "/image")
    assert generate["request_id"] == "e2e-1"
    assert (generate["method"], generate["status"]) == ("POST", 200)
    assert isinstance(generate["duration_ms"], float)
    job_lines = [line for line in lines if line.get("job_id") == body["job_id"]]
    assert {line["event"] for line in job_lines} >= {"job_started", "job_succeeded"}
    assert all(line["request_id"] == "e2e-1" for line in job_lines)
    assert SECRET_PROMPT not in server.log()
    assert "violet heron" not in server.log()


def test_endless_chunked_body_is_cut_off_early(tmp_path: Path) -> None:
    env = {
        "USE_MOCKS": "true",
        # The JSON body's bound holds two inline images of this size: about 2.7 MB.
        "MAX_UPLOAD_MB": "1",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    with live_server(env, tmp_path / "server.log") as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /image HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"x" * 16384
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sent = 0
            answer = b""
            sock.settimeout(0.05)
            deadline = time.monotonic() + 20
            while sent < 10 * 1024 * 1024 and time.monotonic() < deadline:
                try:
                    sock.sendall(framed)
                    sent += len(chunk)
                    # A short pause per chunk, so the server keeps up and `sent` stays near
                    # what it read; 10 ms, not a 50 ms recv timeout: 170 chunks take 2 s.
                    if select.select([sock], [], [], 0.01)[0]:
                        answer += sock.recv(65536)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
                if answer:
                    break
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 4 * 1024 * 1024
        assert httpx.get(f"{server.base_url}/health/live", timeout=5).status_code == 200


def test_ctrl_c_answers_waiting_clients_and_stops_within_a_step(tmp_path: Path) -> None:
    # 100 steps of 0.5 s: the server would need 50 s to finish the running job; it must
    # not wait for it (uvicorn drains connections before the lifespan's shutdown runs).
    env = {
        "USE_MOCKS": "true",
        "MOCK_STEP_SECONDS": "0.5",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    long_job = {"prompt": "long", "num_inference_steps": 100, "width": 64, "height": 64}
    answers: dict[str, object] = {}
    with live_server(env, tmp_path / "server.log") as server:

        def wait_for_image() -> None:
            answers["image"] = httpx.post(f"{server.base_url}/image", json=long_job, timeout=60)

        subscribed = threading.Event()

        def follow(job_id: str) -> None:
            kinds: list[str] = []
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                for event in stream_events(client, f"/jobs/{job_id}/events"):
                    kinds.append(event.kind)
                    subscribed.set()
            answers["events"] = kinds

        def jobs() -> list[dict[str, Any]]:
            response = httpx.get(f"{server.base_url}/jobs", timeout=5)
            listed: list[dict[str, Any]] = response.json()["jobs"]
            return listed

        waiting = threading.Thread(target=wait_for_image)
        waiting.start()
        running = wait_until(
            lambda: next((job["job_id"] for job in jobs() if job["progress"]["step"] >= 1), None),
            "the waiting POST's job to make its first step",
            timeout=30,
            context=jobs,
        )
        queued = httpx.post(f"{server.base_url}/jobs", json=long_job, timeout=5).json()["job_id"]
        following = threading.Thread(target=follow, args=(queued,))
        following.start()
        assert subscribed.wait(30)  # the stream is open: it has sent the queued state

        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0  # far less than the job's 50 s
        waiting.join(10)
        following.join(10)

    image = answers["image"]
    assert isinstance(image, httpx.Response) and image.status_code == 503
    assert "stopped while this job was running" in image.json()["error"]["message"]
    # The waiting job's stream ends without a final event: the job runs after a restart.
    assert answers["events"] == ["queued"]
    record = json.loads((tmp_path / "generated" / f"{running}.json").read_text())
    assert record["status"] == "failed" and record["progress"]["step"] < 100
    assert record["error"]["type"] == "interrupted"
    waiting = json.loads((tmp_path / "generated" / f"{queued}.json").read_text())
    assert waiting["status"] == "queued"
    assert not list((tmp_path / "generated").glob("*.png"))
    assert '"level": "error"' not in server.log()
