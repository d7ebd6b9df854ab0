"""What an AUTOMATIC1111 call echoes back is bounded: a txt2img body has no room for
images, and a long text in any field comes back cut."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from entrypoints.automatic1111.answer import ECHO_MAX_CHARS
from entrypoints.automatic1111.generation_routes import TXT2IMG_BODY_BYTES

SMALL = {"width": 64, "height": 64, "steps": 1}


def test_a_txt2img_body_over_its_limit_is_413_in_a1111s_shape(mock_client: TestClient) -> None:
    body = {"prompt": "a fox", **SMALL, "comments": "x" * TXT2IMG_BODY_BYTES}
    response = mock_client.post("/sdapi/v1/txt2img", json=body)
    assert response.status_code == 413
    assert set(response.json()) == {"error", "detail", "body", "errors"}
    assert mock_client.get("/jobs").json()["jobs"] == []


def test_long_texts_come_back_cut(mock_client: TestClient) -> None:
    long = "a fox " * 10_000  # 60,000 characters
    body = {"prompt": long, **SMALL, "script_name": long, "comments": {"note": long}}
    response = mock_client.post("/sdapi/v1/txt2img", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["parameters"]["prompt"] == long[:ECHO_MAX_CHARS]
    assert answer["parameters"]["comments"] == {"note": long[:ECHO_MAX_CHARS]}
    assert json.loads(answer["info"])["prompt"] == long[:ECHO_MAX_CHARS]
    assert len(response.content) < 10 * ECHO_MAX_CHARS
