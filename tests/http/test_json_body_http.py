"""A JSON body with megabytes of inline images is parsed off the event loop (other
requests are not held up meanwhile), and parsed the same: a lone surrogate is still a 422."""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints import json_body
from tests.http.test_edit_jobs_http import b64


class ParseThreads:
    """Wraps the body parser and records, per call, whether it ran on the event loop."""

    def __init__(self) -> None:
        self.on_loop: list[bool] = []
        self._parse = json_body._parsed_object

    def __call__(self, body: bytes) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        return self._parse(body)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> ParseThreads:
    recorder = ParseThreads()
    monkeypatch.setattr(json_body, "_parsed_object", recorder)
    return recorder


def noise_png() -> bytes:
    stream = io.BytesIO()
    Image.frombytes("RGB", (160, 160), os.urandom(160 * 160 * 3)).save(stream, "PNG")
    return stream.getvalue()


def test_a_large_body_is_parsed_in_a_worker_thread(
    mock_client: TestClient, parses: ParseThreads
) -> None:
    inline = b64(noise_png())
    assert len(inline) > json_body.MAX_BODY_BYTES
    body = {"prompt": "a hill", "init_image": inline, "width": 64, "height": 64}
    answer = mock_client.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    assert parses.on_loop == [False]


def test_a_small_body_is_parsed_on_the_loop(mock_client: TestClient, parses: ParseThreads) -> None:
    answer = mock_client.post("/jobs", json={"prompt": "a hill", "width": 64, "height": 64})
    assert answer.status_code == 202, answer.text
    assert parses.on_loop == [True]


def test_a_lone_surrogate_in_a_large_body_is_still_refused(
    mock_client: TestClient, parses: ParseThreads
) -> None:
    raw = '{"prompt": "a \\ud800 hill", "init_image": "' + b64(noise_png()) + '"}'
    answer = mock_client.post(
        "/jobs", content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"] == [
        {"field": "prompt", "message": "Must be valid Unicode text (a lone surrogate is not)."}
    ]
    assert parses.on_loop == [False]
    assert mock_client.get("/uploads").json() == {"uploads": []}


def test_non_ascii_text_in_a_large_body_is_kept(mock_client: TestClient) -> None:
    body = {"prompt": "caf\u00e9 \U0001f600", "init_image": b64(noise_png()), "width": 64}
    answer = mock_client.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["params"]["prompt"] == "caf\u00e9 \U0001f600"
