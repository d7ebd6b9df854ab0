"""The real thing as users run it: uvicorn, the tiny model, GPU asked for on a machine without.

The server is the session's (tests/support/openvino_server.py), shared with the foreign
clients' tests on the real model: one start instead of two."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.openvino, pytest.mark.server]


def test_uvicorn_falls_back_to_cpu_and_generates(tiny_model_server: LiveServer) -> None:
    server = tiny_model_server
    health = server.health()
    assert health["device"]["target"] == "GPU"
    assert health["device"]["active"] == "CPU"
    assert health["device"]["fallback_reason"]
    request = {
        "prompt": "a red barn",
        "seed": 2024,
        "width": 96,
        "height": 64,
        "num_inference_steps": 4,
    }
    images = []
    for _ in range(2):
        response = httpx.post(f"{server.base_url}/image", json=request, timeout=120)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["provider"], body["device"], body["mock"]) == ("openvino", "CPU", False)
        png = httpx.get(f"{server.base_url}{body['image_url']}", timeout=10).content
        picture = Image.open(io.BytesIO(png))
        assert picture.size == (96, 64)
        colours = {picture.getpixel((x, y)) for x in range(96) for y in range(64)}
        assert len(colours) > 16  # not a flat colour
        images.append(picture.tobytes())
    assert images[0] == images[1]

    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    warnings = [line for line in lines if line["event"] == "device_unavailable_using_cpu"]
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning["level"] == "warning" and warning["target"] == "GPU"
    assert "use_cpu" in warning["remedies"] and warning["cause"]
    assert "OPENVINO_DEVICE=CPU" in warning["fix"]  # worded at the edge
