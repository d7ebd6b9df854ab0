"""The whole service on the real OpenVINO engine and the tiny model, in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.waiting import wait_until


def wait_until_ready(client: TestClient, timeout: float = 120) -> None:
    wait_until(
        lambda: client.get("/health/ready").status_code == 200,
        "/health/ready to answer 200",
        timeout=timeout,
        interval=0.1,
        context=lambda: client.get("/health").json(),
    )


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
