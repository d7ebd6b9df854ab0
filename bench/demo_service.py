"""Another checkout of the project served as users run it, in demo mode (no model).

The server runs that checkout's code with this virtualenv's Python, so two trees can be
measured side by side: the one under work, and the commit before it.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.models import PROJECT_ROOT
from tests.support.live_server import environment_without_settings, free_port, stop_like_ctrl_c
from tests.support.waiting import wait_until


@contextmanager
def demo_service(project: Path, work: Path, name: str, settings: dict[str, str]) -> Iterator[str]:
    """`python -m entrypoints.cli serve` of ``project`` in demo mode; yields its base URL."""
    port = free_port()
    generated = work / "request-overhead" / name
    shutil.rmtree(generated, ignore_errors=True)  # a fresh history: no earlier run's jobs
    generated.mkdir(parents=True)
    env = environment_without_settings()
    env.update(
        {
            "PYTHONPATH": str(project),  # that checkout's packages, not the editable install's
            "ENV_FILE": "",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            "HF_HUB_OFFLINE": "1",
            "USE_MOCKS": "true",
            "GENERATED_DIR": str(generated),
            **settings,
        }
    )
    _check_imports_from(project, env)
    log_path = work / "logs" / f"request-overhead-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve"],
            cwd=project,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: _ready(process, base_url, log_path),
                f"{name}'s /health/ready to answer 200",
                timeout=120,
                interval=0.1,
                context=lambda: log_path.read_text(encoding="utf-8", errors="replace"),
            )
            yield base_url
        finally:
            stop_like_ctrl_c(process)


def _ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> bool:
    if process.poll() is not None:
        log = log_path.read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"server exited with {process.returncode}:\n{log}")
    try:
        return httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _check_imports_from(project: Path, env: dict[str, str]) -> None:
    """The server must run ``project``'s code, not the tree .venv was installed from."""
    found = subprocess.run(
        [sys.executable, "-c", "import entrypoints; print(entrypoints.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(project.resolve()):
        raise RuntimeError(f"{project}: its Python imports entrypoints from {found}")


def baseline_checkout(ref: str) -> Path:
    """``ref``'s files (git archive, so the working tree and its index stay untouched).

    Outside the project: a second copy of the packages under bench/cache would be linted,
    type-checked and collected as if it were the project's own.
    """
    git = ["git", "-C", str(PROJECT_ROOT)]
    sha = subprocess.run(
        [*git, "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = Path(tempfile.gettempdir()) / "local-sd-bench-baselines" / sha[:12]
    if folder.is_dir():
        return folder
    archive = subprocess.run(
        [*git, "archive", "--format=tar", sha], capture_output=True, check=True
    )
    # Unpacked beside it and renamed: an interrupted unpacking never looks complete.
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(partial, filter="data")
    partial.rename(folder)
    return folder
