"""A real uvicorn on this machine's network address: keys required there, and no keys, no LAN."""

from __future__ import annotations

import base64
import ipaddress
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import PROJECT_ROOT, environment_without_settings
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

KEY = "alice-key-0123456789"


def network_address() -> str | None:
    """An address of this machine other than loopback that a server can bind, or None."""
    candidates: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # A UDP connect sends nothing: it only picks the interface a route would use.
            probe.connect(("10.255.255.255", 1))
            candidates.append(probe.getsockname()[0])
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        candidates += [str(info[4][0]) for info in infos]
    except OSError:
        pass
    for candidate in candidates:
        address = ipaddress.ip_address(candidate)
        if address.is_loopback or address.is_unspecified:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((candidate, 0))
            except OSError:
                continue
        return candidate
    return None


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lan() -> str:
    address = network_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address a server can bind")
    return address


def server_environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = environment_without_settings()
    env.update(
        {
            "ENV_FILE": "",
            "USE_MOCKS": "true",
            "MODEL_DIR": str(tmp_path / "models"),
            "GENERATED_DIR": str(tmp_path / "generated"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            **values,
        }
    )
    return env


@contextmanager
def running(
    command: list[str], env: Mapping[str, str], live_url: str, log_path: Path
) -> Iterator[Path]:
    """The server ``command`` starts, once ``live_url`` answers; stopped with SIGINT."""
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{log()}")
            try:
                with client() as http:
                    return http.get(live_url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        def log() -> str:
            return log_path.read_text(encoding="utf-8", errors="replace")

        try:
            wait_until(answers, f"{live_url} to answer", timeout=60, interval=0.1, context=log)
            yield log_path
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def client() -> httpx.Client:
    # No proxy from the environment between the test and this machine's own address.
    return httpx.Client(trust_env=False, timeout=30)


def log_events(log_path: Path) -> list[dict[str, object]]:
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_keys_guard_the_network_address(tmp_path: Path, lan: str) -> None:
    port = free_port(lan)
    base = f"http://{lan}:{port}"
    env = server_environment(tmp_path, HOST=lan, PORT=str(port), API_KEYS=f"alice:{KEY},bob:b0b")
    command = ["-m", "entrypoints.cli", "serve"]
    with (
        running(command, env, f"{base}/health/live", tmp_path / "server.log") as log_path,
        client() as http,
    ):
        assert http.get(f"{base}/health/live").json() == {"status": "alive"}
        refused = http.get(f"{base}/jobs")
        assert refused.status_code == 401
        assert "Basic" in refused.headers["www-authenticate"]
        bearer = {"authorization": f"Bearer {KEY}"}
        assert http.get(f"{base}/jobs", headers=bearer).status_code == 200
        basic_token = base64.b64encode(f"open-webui:{KEY}".encode()).decode()
        basic = {"authorization": f"Basic {basic_token}"}
        job = http.post(
            f"{base}/jobs", json={"prompt": "x", "width": 64, "height": 64}, headers=basic
        )
        assert job.status_code == 202, job.text
        assert http.get(f"{base}/jobs/nope?api_key={KEY}").status_code == 401
    events = log_events(log_path)
    assert any(e["event"] == "job_queued" and e.get("client") == "alice" for e in events)
    assert KEY not in log_path.read_text(encoding="utf-8")


def test_uvicorn_on_every_address_without_keys_serves_loopback_only(
    tmp_path: Path, lan: str
) -> None:
    port = free_port("0.0.0.0")
    command = ["-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", str(port)]
    live = f"http://127.0.0.1:{port}/health/live"
    with (
        running(command, server_environment(tmp_path), live, tmp_path / "server.log") as log_path,
        client() as http,
    ):
        for host in ("localhost", lan):  # the Host a client sends changes nothing
            refused = http.get(f"http://{lan}:{port}/jobs", headers={"host": host})
            assert refused.status_code == 403
            assert "API_KEYS" in refused.json()["error"]["message"]
        assert http.get(f"http://127.0.0.1:{port}/jobs").status_code == 200
    events = [e["event"] for e in log_events(log_path)]
    assert events.count("network_request_refused") == 1


def test_open_access_serves_the_network_with_a_warning(tmp_path: Path, lan: str) -> None:
    port = free_port(lan)
    base = f"http://{lan}:{port}"
    env = server_environment(tmp_path, HOST=lan, PORT=str(port), ALLOW_OPEN_ACCESS="true")
    command = ["-m", "entrypoints.cli", "serve"]
    with (
        running(command, env, f"{base}/health/live", tmp_path / "server.log") as log_path,
        client() as http,
    ):
        assert http.get(f"{base}/jobs").status_code == 200
    warnings = [e for e in log_events(log_path) if e["event"] == "open_access"]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "sd.lan"])
def test_serve_refuses_a_network_address_without_keys(tmp_path: Path, host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        cwd=PROJECT_ROOT,
        env=server_environment(tmp_path, HOST=host),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "API_KEYS" in lines[0] and host in lines[0], result.stderr


def test_serve_names_the_bad_line_of_a_keys_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("alice:one:two\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        cwd=PROJECT_ROOT,
        env=server_environment(tmp_path, HOST="0.0.0.0", API_KEYS_FILE=str(keys_file)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{keys_file} line 1" in lines[0], result.stderr
    assert "one:two" not in result.stderr
