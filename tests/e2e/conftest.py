"""The whole service on the real OpenVINO engine and the tiny model, in process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings


def wait_until_ready(client: TestClient, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/health/ready")
        if response.status_code == 200:
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.1)
    raise AssertionError(f"not ready: {client.get('/health').json()}")


@pytest.fixture(scope="module")
def openvino_client(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The service as configured by default but for the model folder: GPU asked for, genai."""
    tmp_path = tmp_path_factory.mktemp("service")
    settings = make_settings(tmp_path, model_dir=tiny_model_dir, preview_every=1)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        wait_until_ready(client)
        yield client
