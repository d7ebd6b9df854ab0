"""A timed-out edit says the steps that run, keeps no image, and leaves the service usable."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

from PIL import Image
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend


def _inline_png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_timed_out_edit_counts_the_steps_that_run_and_keeps_no_image(tmp_path: Path) -> None:
    backend = FakeBackend(hold=threading.Event())
    settings = make_settings(tmp_path, inference_timeout_seconds=0.2)
    app = create_app(settings, backend=backend)
    body = {"prompt": "x", "init_image": _inline_png(), "strength": 0.75}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        answer = client.post("/image", json=body)

        assert answer.status_code == 504, answer.text
        message = answer.json()["error"]["message"]
        assert "step 0 of 15" in message  # 20 steps at 0.75: 15 run
        assert not list(settings.generated_dir.glob("*.png"))
        backend.hold = None
        assert client.post("/image", json=body).status_code == 200
