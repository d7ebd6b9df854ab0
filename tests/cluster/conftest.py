"""Fixtures for the cluster tests: machines sharing one queue (SAQ) on a real Redis.

Each test gets a server of its own, so no test sees another's jobs or keys; one starts in
a few milliseconds. Where `redis-server` is not installed the tests skip and say how to
get it, as the browser tests do for Chromium: CI installs it (.ci/run).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer, running_redis

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is marked `cluster`, those added later too, so
    ``-m "not cluster"`` leaves them all out without each module saying so."""
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def redis_executable() -> str:
    """Where `redis-server` is; the test skips where it is not installed. For tests that
    start a server of their own with `running_redis` (a password, persistence)."""
    path = shutil.which("redis-server")
    if path is None:
        pytest.skip(
            "needs redis-server (Debian: apt-get install redis-server; .ci/run installs it)"
        )
    return path


@pytest.fixture
def redis_server(redis_executable: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A running `redis-server` on a free loopback port, without a password or persistence;
    stopped and its files removed after the test."""
    with running_redis(tmp_path / "redis", executable=redis_executable) as server:
        yield server
