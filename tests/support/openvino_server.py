"""One live uvicorn server on the tiny real OpenVINO model for the whole session.

Starting it costs seconds (loading and compiling the model), so the tests that need the
real engine behind a real server share it: the end-to-end test of the service as users
run it (GPU asked for on a machine without one, so it falls back to CPU) and the foreign
clients' tests. The lead's tests/conftest.py imports the fixture, so every folder sees
the same one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer, live_server


@pytest.fixture(scope="session")
def tiny_model_server(
    tiny_model_dir: Path, openvino_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The service on the tiny model with the default settings but GPU asked for
    explicitly; ready when yielded. Its log holds every test's requests."""
    directory = tmp_path_factory.mktemp("tiny-model-server")
    env = {
        "MODEL_DIR": str(tiny_model_dir),
        "GENERATED_DIR": str(directory / "generated"),
        "OV_CACHE_DIR": str(openvino_cache_dir),
        "OPENVINO_DEVICE": "GPU",
    }
    with live_server(env, directory / "server.log") as server:
        server.wait_until_ready()
        yield server
