"""A real uvicorn process of the service on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from entrypoints.settings import Settings
from tests.support.waiting import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.base_url}/health", timeout=5).json()
        return body

    def wait_for_health(
        self, condition: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        """``/health`` once ``condition`` holds for it; ``what`` names that state."""
        return wait_until(
            lambda: body if condition(body := self.health()) else None,
            what,
            timeout=timeout,
            context=self.log,
        )

    def wait_until_ready(self, timeout: float = 120.0) -> None:
        """Until ``/health/ready`` answers 200: the model is loaded (and compiled)."""
        wait_until(
            lambda: httpx.get(f"{self.base_url}/health/ready", timeout=5).status_code == 200,
            "/health/ready to answer 200",
            timeout=timeout,
            interval=0.1,
            context=self.log,
        )


def environment_without_settings() -> dict[str, str]:
    """This process's environment less every setting a developer's shell may export."""
    return {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in Settings.model_fields
        and not key.startswith(("OPENVINO_", "MODEL_", "GENERATED_", "HF_", "HUGGINGFACE_"))
    }


@contextmanager
def live_server(
    env: Mapping[str, str],
    log_path: Path,
    ready_timeout: float = 120.0,
    serve_args: tuple[str, ...] = (),
    uvicorn_app: str | None = None,
    blocked_modules: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    """Start `python -m entrypoints.cli serve`, wait for liveness, stop it with SIGINT.

    With ``uvicorn_app`` (e.g. "main:app") the server is `uvicorn <app>` instead, as the
    README's setup by hand runs it.

    With ``blocked_modules`` (e.g. ``("torch",)``), importing any of them fails in the
    server process as if it were not installed (``None`` in ``sys.modules``): what a
    default install without the optimum extra has.

    The process gets this environment without any setting the developer's shell exports,
    plus ``env``; ENV_FILE="" keeps a developer's `.env` out too, so the server runs on
    the defaults and ``env`` alone, as in CI.
    """
    port = free_port()
    full_env = environment_without_settings()
    full_env.update(
        {
            "ENV_FILE": "",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            **env,
        }
    )
    with log_path.open("w", encoding="utf-8") as log_file:
        command = ["-m", "entrypoints.cli", "serve", *serve_args]
        if uvicorn_app is not None:
            command = ["-m", "uvicorn", uvicorn_app, "--host", "127.0.0.1", "--port", str(port)]
        if blocked_modules:
            command = ["-c", _blocking(blocked_modules, command), *command[2:]]
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=PROJECT_ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
        try:
            _wait_until_live(server, ready_timeout)
            yield server
        finally:
            stop_like_ctrl_c(process)


def _blocking(modules: tuple[str, ...], command: list[str]) -> str:
    """A `python -c` program: ``modules`` made unimportable, then ``command``'s module
    (``-m name``) run as ``__main__`` with the rest of ``command`` as its arguments."""
    return (
        f"import runpy, sys; sys.modules.update(dict.fromkeys({list(modules)!r})); "
        f"runpy.run_module({command[1]!r}, run_name='__main__', alter_sys=True)"
    )


def stop_like_ctrl_c(process: subprocess.Popen[Any]) -> None:
    """SIGINT, as Ctrl+C sends, then a kill if the server has not left within a minute."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_live(server: LiveServer, timeout: float) -> None:
    def live() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            return httpx.get(f"{server.base_url}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(live, "/health/live to answer", timeout=timeout, interval=0.1, context=server.log)
