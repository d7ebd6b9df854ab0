"""A JSON body of too many values (millions of `0` or `{}`, each ~50 times its bytes once
parsed) is a 413 that says so, on every route that reads JSON, before it is parsed; a
body as large with few values (an inline image) and real clients' bodies are read."""

from __future__ import annotations

import base64
import io
import json
import random
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints.json_body import MAX_BODY_BYTES, MAX_VALUES

TOO_MANY = f"The body holds too many values (at most {MAX_VALUES})."


def post(client: TestClient, path: str, body: bytes) -> dict[str, Any]:
    """The answer's JSON, with its status under "status"."""
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    return {**answer.json(), "status": answer.status_code}


def with_junk(item: str, count: int) -> bytes:
    """A txt2img body with ``count`` copies of ``item`` in an ignored field."""
    junk = ",".join([item] * count)
    return ('{"prompt": "a hill", "steps": 1, "junk": [' + junk + "]}").encode()


@pytest.mark.parametrize("item", ["0", "{}", "[]", '""'])
def test_a_body_of_many_tiny_values_is_refused(mock_client: TestClient, item: str) -> None:
    refused = post(mock_client, "/sdapi/v1/txt2img", with_junk(item, MAX_VALUES))
    assert refused == {
        "status": 413,
        "error": "HTTPException",
        "detail": TOO_MANY,
        "body": "",
        "errors": "payload_too_large",
    }
    assert mock_client.get("/jobs").json()["jobs"] == []


def test_a_large_body_of_values_is_refused_before_it_is_parsed(mock_client: TestClient) -> None:
    body = with_junk("{}", 500_000)  # 1.5 MB, over the 1 MiB of a txt2img body: to img2img
    assert len(body) > MAX_BODY_BYTES
    assert post(mock_client, "/sdapi/v1/img2img", body)["detail"] == TOO_MANY


def test_openai_and_our_own_api_refuse_it_in_their_shapes(mock_client: TestClient) -> None:
    openai = post(mock_client, "/v1/images/generations", with_junk("0", MAX_VALUES))
    assert openai["status"] == 413
    assert openai["error"]["message"] == TOO_MANY
    ours = post(mock_client, "/jobs", with_junk("0", MAX_VALUES))
    assert ours["status"] == 413
    assert (ours["error"]["type"], ours["error"]["message"]) == ("payload_too_large", TOO_MANY)


def test_a_body_with_some_values_to_spare_is_read(mock_client: TestClient) -> None:
    # Within the bound with the body's own commas and brackets: a few thousand values
    # (a long ControlNet `alwayson_scripts`, a prompt of commas) are far from it.
    answer = post(mock_client, "/sdapi/v1/txt2img", with_junk("0", MAX_VALUES - 10))
    assert answer["status"] == 200, answer


def test_an_inline_image_holds_no_values_to_count(mock_client: TestClient) -> None:
    noise = random.Random(1).randbytes(600 * 600 * 3)  # a PNG of noise compresses to ~1 MB
    image = io.BytesIO()
    Image.frombytes("RGB", (600, 600), noise).save(image, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
    body = {"prompt": "a hill", "num_inference_steps": 1, "init_image": data_url}
    answer = post(mock_client, "/jobs", json.dumps(body).encode())
    assert answer["status"] == 202, answer
