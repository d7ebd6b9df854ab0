"""Real `local-sd worker` processes for the cluster tests, and what their logs say."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.live_server import PROJECT_ROOT, environment_without_settings


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """Its JSON log lines whose event is ``name``."""
        found = []
        for line in self.log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found

    @property
    def worker_id(self) -> str | None:
        started = self.events("worker_started")
        return str(started[0]["worker_id"]) if started else None

    def kill(self) -> None:
        """As a power cut: no goodbye to Redis."""
        self.process.kill()
        self.process.wait()


@contextmanager
def running_worker(env: Mapping[str, str], log_path: Path) -> Iterator[WorkerProcess]:
    """`python -m entrypoints.cli worker` with only ``env``'s settings; SIGINT at the end."""
    full_env = {
        **environment_without_settings(),
        "ENV_FILE": "",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        **env,
    }
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        worker = WorkerProcess(process, log_path)
        try:
            yield worker
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
