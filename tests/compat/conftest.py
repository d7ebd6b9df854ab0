"""Live servers for the real clients' tests: one uvicorn process per configuration for the
whole session, since each start costs seconds and the suite is long already.

Two on the mock backend: an open one (no keys, as one person runs it on loopback for their
tools) with slow steps, so a job can be watched and interrupted mid-way; and one with API
keys and instant steps, for the clients' credentials (Bearer for OpenAI's, Basic for
AUTOMATIC1111's).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compat.servers import API_KEYS, STEP_SECONDS, mock_environment
from tests.support.live_server import LiveServer, live_server


@pytest.fixture(scope="session")
def open_mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No keys; every step takes STEP_SECONDS."""
    directory = tmp_path_factory.mktemp("compat-open")
    env = mock_environment(directory, MOCK_STEP_SECONDS=str(STEP_SECONDS))
    with live_server(env, directory / "server.log") as server:
        server.wait_until_ready()
        yield server


@pytest.fixture(scope="session")
def keyed_mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """API_KEYS with two named keys (alice, bob); instant steps."""
    directory = tmp_path_factory.mktemp("compat-keyed")
    with live_server(
        mock_environment(directory, API_KEYS=API_KEYS), directory / "server.log"
    ) as server:
        server.wait_until_ready()
        yield server
