"""A JSON body nested deeper than MAX_DEPTH levels is a 400 that says so, before any work
is done on it, whether it is small (parsed on the loop), large (parsed in a thread) or
too deep for the json module itself; as deep as MAX_DEPTH is read as usual."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from entrypoints.json_body import MAX_BODY_BYTES, MAX_DEPTH

TOO_DEEP = f"The body is nested too deeply (at most {MAX_DEPTH} levels of objects and arrays)."


def nested(levels: int, padding: int = 0) -> bytes:
    """A txt2img body ``levels`` deep: the body, then arrays in an ignored field."""
    arrays = levels - 1
    pad = f', "pad": "{"x" * padding}"' if padding else ""
    text = '{"prompt": "a hill", "steps": 1' + pad + ', "script_args": '
    return (text + "[" * arrays + "]" * arrays + "}").encode()


def post(client: TestClient, path: str, body: bytes) -> dict[str, Any]:
    """The answer's JSON, with its status under "status"."""
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    return {**answer.json(), "status": answer.status_code}


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 500, 5000])
def test_a_deep_body_is_refused_as_too_deep(mock_client: TestClient, levels: int) -> None:
    refused = post(mock_client, "/sdapi/v1/txt2img", nested(levels))
    assert refused == {
        "status": 400,
        "error": "HTTPException",
        "detail": TOO_DEEP,
        "body": "",
        "errors": "bad_request",
    }
    assert mock_client.get("/jobs").json()["jobs"] == []


def test_a_large_deep_body_is_refused_the_same(mock_client: TestClient) -> None:
    body = nested(MAX_DEPTH + 1, padding=MAX_BODY_BYTES)  # parsed in a worker thread
    assert len(body) > MAX_BODY_BYTES
    assert post(mock_client, "/sdapi/v1/txt2img", body)["detail"] == TOO_DEEP


def test_our_own_api_refuses_it_in_our_shape(mock_client: TestClient) -> None:
    deep = '{"prompt": "a hill", "init_image": {"upload_id": ' + "[" * 40 + "]" * 40 + "}}"
    refused = post(mock_client, "/jobs", deep.encode())
    assert refused["status"] == 400
    assert refused["error"] == {
        "type": "bad_request",
        "message": TOO_DEEP,
        "details": [],
        "request_id": refused["error"]["request_id"],
    }


def test_a_body_as_deep_as_allowed_is_read(mock_client: TestClient) -> None:
    answer = post(mock_client, "/sdapi/v1/txt2img", nested(MAX_DEPTH))
    assert answer["status"] == 200, answer
