"""Errors under `/sdapi/` and `/v1/` reach the clients in AUTOMATIC1111's and OpenAI's
shapes, whoever made them (a route, Starlette's router, the body limits, the Host check,
authentication), with their headers kept; everything else passes untouched.

The middleware alone first, on a tiny app of its own (what it touches and what it does
not), then the service itself, error source by error source."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.automatic1111.error_shape import automatic1111_error
from entrypoints.error_dialects import ErrorDialectMiddleware
from entrypoints.http_errors import error_body
from entrypoints.openai_images.error_shape import openai_error
from entrypoints.request_context import RequestContextMiddleware
from tests.conftest import make_settings
from tests.support.waiting import wait_until

KEY = "alice-key-0123456789"
A1111_KEYS = {"error", "detail", "body", "errors"}
OPENAI_KEYS = {"message", "type", "param", "code"}


def assert_a1111(response: Any, status: int, errors: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    body: dict[str, Any] = response.json()
    assert set(body) == A1111_KEYS and body["detail"] and body["body"] == ""
    assert body["error"] == ("HTTPException" if status < 500 else body["error"])
    if errors is not None:
        assert body["errors"] == errors
    return body


def assert_openai(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == OPENAI_KEYS
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body


# The middleware alone


async def ours(request: Request) -> Response:
    body = error_body("queue_full", "The queue is full.", "req-1")
    return JSONResponse(body, status_code=429, headers={"Retry-After": "7", "X-Extra": "kept"})


async def ours_in_pieces(request: Request) -> Response:
    text = json.dumps(error_body("not_found", "No such job.", "req-2")).encode()

    async def pieces() -> AsyncIterator[bytes]:
        yield text[:10]
        yield text[10:]

    return StreamingResponse(pieces(), status_code=404, media_type="application/json")


async def big(request: Request) -> Response:
    return JSONResponse(error_body("bad_request", "x" * 70_000, "req-3"), status_code=400)


async def not_ours(request: Request) -> Response:
    return JSONResponse({"detail": "Someone else's shape."}, status_code=400)


async def text_error(request: Request) -> Response:
    return PlainTextResponse("Plain words.", status_code=500)


async def success(request: Request) -> Response:
    return JSONResponse({"error": {"type": "x", "message": "a success that says error"}})


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug")


async def image(request: Request) -> Response:
    return Response(b"\x89PNG\r\n\x1a\n", media_type="image/png")


async def events(request: Request) -> Response:
    async def stream() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


def tiny_app() -> Starlette:
    handlers = {
        "ours": ours,
        "pieces": ours_in_pieces,
        "big": big,
        "not-ours": not_ours,
        "text": text_error,
        "success": success,
        "image": image,
        "events": events,
        "broken": broken,
    }
    routes = [
        Route(f"{prefix}/{name}", handler, methods=["GET", "HEAD"])
        for prefix in ("/sdapi/v1", "/v1", "/jobs")
        for name, handler in handlers.items()
    ]
    dialects = {"/sdapi/": automatic1111_error, "/v1/": openai_error}
    # As the service stacks them: the request context (ids, the last-resort 500) outside.
    middleware = [
        Middleware(RequestContextMiddleware),
        Middleware(ErrorDialectMiddleware, dialects=dialects),
    ]
    return Starlette(routes=routes, middleware=middleware)


@pytest.fixture
def tiny() -> Iterator[TestClient]:
    with TestClient(tiny_app(), base_url="http://127.0.0.1") as client:
        yield client


def test_our_error_is_reshaped_with_its_headers_kept(tiny: TestClient) -> None:
    a1111 = tiny.get("/sdapi/v1/ours")
    assert assert_a1111(a1111, 429, "queue_full")["detail"] == "The queue is full."
    openai = tiny.get("/v1/ours")
    assert_openai(openai, 429, "rate_limit_exceeded")
    for response in (a1111, openai):
        assert response.headers["retry-after"] == "7" and response.headers["x-extra"] == "kept"


def test_an_error_sent_in_pieces_is_reshaped_whole(tiny: TestClient) -> None:
    assert_a1111(tiny.get("/sdapi/v1/pieces"), 404, "not_found")
    assert_openai(tiny.get("/v1/pieces"), 404, "not_found")


@pytest.mark.parametrize("name", ["big", "not-ours", "text", "success", "image", "events"])
@pytest.mark.parametrize("prefix", ["/sdapi/v1", "/v1"])
def test_everything_else_passes_untouched(tiny: TestClient, prefix: str, name: str) -> None:
    foreign = tiny.get(f"{prefix}/{name}")
    own = tiny.get(f"/jobs/{name}")
    assert foreign.status_code == own.status_code
    assert foreign.content == own.content
    request_ids = {"x-request-id"}
    assert {k: v for k, v in foreign.headers.items() if k not in request_ids} == {
        k: v for k, v in own.headers.items() if k not in request_ids
    }


def test_an_unhandled_error_is_a_500_in_the_foreign_shape(tiny: TestClient) -> None:
    a1111 = tiny.get("/sdapi/v1/broken")
    assert assert_a1111(a1111, 500, "internal_error")["error"] == "InternalError"
    openai = tiny.get("/v1/broken")
    assert_openai(openai, 500, "internal_error")
    assert openai.headers["x-should-retry"] == "false"
    own = tiny.get("/jobs/broken")
    assert own.status_code == 500 and own.json()["error"]["type"] == "internal_error"
    for response in (a1111, openai, own):
        assert response.headers["x-request-id"]


def test_our_own_routes_keep_our_shape(tiny: TestClient) -> None:
    response = tiny.get("/jobs/ours")
    assert response.status_code == 429 and response.json()["error"]["type"] == "queue_full"


def test_head_passes_untouched(tiny: TestClient) -> None:
    response = tiny.head("/v1/ours")
    assert response.status_code == 429 and response.content == b""


# The service


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(f"alice:{KEY}"), max_upload_mb=1)
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


ALICE = {"authorization": f"Bearer {KEY}"}


@pytest.mark.parametrize("path", ["/sdapi/v1/no-such-route", "/sdapi/v1", "/sdapi/v1/"])
def test_unknown_route_in_a1111_mount(keyed: TestClient, path: str) -> None:
    assert_a1111(keyed.get(path, headers=ALICE), 404, "not_found")


@pytest.mark.parametrize("path", ["/v1/no-such-route", "/v1/images"])
def test_unknown_route_in_openai_mount(keyed: TestClient, path: str) -> None:
    assert_openai(keyed.get(path, headers=ALICE), 404, "not_found")


def test_wrong_method_names_the_mounted_routes_methods(keyed: TestClient) -> None:
    a1111 = keyed.get("/sdapi/v1/txt2img", headers=ALICE)
    assert_a1111(a1111, 405, "method_not_allowed")
    assert a1111.headers["allow"] == "POST"
    openai = keyed.get("/v1/images/generations", headers=ALICE)
    assert_openai(openai, 405, "method_not_allowed")
    assert openai.headers["allow"] == "POST"
    assert keyed.delete("/v1/models", headers=ALICE).headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong-key-0123456789"}])
def test_no_key_or_a_wrong_key(keyed: TestClient, headers: dict[str, str]) -> None:
    a1111 = keyed.get("/sdapi/v1/options", headers=headers)
    assert_a1111(a1111, 401, "unauthorized")
    openai = keyed.get("/v1/models", headers=headers)
    assert assert_openai(openai, 401, "invalid_api_key")["error"]["type"] == (
        "invalid_request_error"
    )
    for response in (a1111, openai):
        assert "Basic" in response.headers["www-authenticate"]
        assert response.headers["x-request-id"]


def test_too_many_wrong_keys_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, use_mocks=True, api_keys=SecretStr(KEY), auth_failure_limit="2/minute"
    )
    wrong = {"authorization": "Bearer wrong-key-0123456789"}
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        for _ in range(2):
            assert client.get("/v1/models", headers=wrong).status_code == 401
        a1111 = client.get("/sdapi/v1/options", headers=wrong)
        openai = client.get("/v1/models", headers=wrong)
    assert_a1111(a1111, 429, "rate_limited")
    assert_openai(openai, 429, "rate_limit_exceeded")
    for response in (a1111, openai):
        assert int(response.headers["retry-after"]) >= 1
        assert "x-should-retry" not in response.headers


def test_a_foreign_host_is_refused(keyed: TestClient) -> None:
    evil = {**ALICE, "host": "evil.example"}
    assert_a1111(keyed.get("/sdapi/v1/options", headers=evil), 403, "forbidden")
    assert_openai(keyed.get("/v1/models", headers=evil), 403, "forbidden")


def test_two_host_headers_are_a_bad_request(keyed: TestClient) -> None:
    two = [*ALICE.items(), ("host", "127.0.0.1"), ("host", "localhost")]
    assert_a1111(keyed.get("/sdapi/v1/options", headers=two), 400, "bad_request")
    assert_openai(keyed.get("/v1/models", headers=two), 400, "bad_request")


def test_network_refusal_without_keys(tmp_path: Path) -> None:
    # Without keys only loopback is served: a request that arrived on a network address
    # (the test transport's server address is the base URL's host) is refused.
    settings = make_settings(tmp_path, use_mocks=True, allowed_hosts="192.0.2.7")
    with TestClient(create_app(settings), base_url="http://192.0.2.7") as client:
        assert_a1111(client.get("/sdapi/v1/options"), 403, "forbidden")
        openai = client.get("/v1/models")
    assert assert_openai(openai, 403, "forbidden")["error"]["type"] == "permission_error"


def test_too_large_body(keyed: TestClient) -> None:
    huge = b"x" * (4 * 2**20)  # over two inline images of MAX_UPLOAD_MB=1
    json_headers = {**ALICE, "content-type": "application/json"}
    a1111 = keyed.post("/sdapi/v1/txt2img", content=huge, headers=json_headers)
    assert_a1111(a1111, 413, "payload_too_large")
    openai = keyed.post("/v1/images/generations", content=huge, headers=json_headers)
    assert_openai(openai, 413, "payload_too_large")


def test_validation(keyed: TestClient) -> None:
    a1111 = keyed.post(
        "/sdapi/v1/txt2img", json={"prompt": "a cat", "cfg_scale": 99}, headers=ALICE
    )
    body = assert_a1111(a1111, 422)
    assert "cfg_scale: " in body["detail"] and body["errors"].startswith("cfg_scale: ")
    openai = keyed.post("/v1/images/generations", json={"prompt": "a cat", "n": 11}, headers=ALICE)
    error = assert_openai(openai, 400, "validation_error")["error"]
    assert error["param"] == "n" and error["type"] == "invalid_request_error"


def test_an_image_problem_is_told_once(keyed: TestClient) -> None:
    # The image's error is its field's message: appending the field's problem to it
    # would say the same sentence twice.
    text = base64.b64encode(b"just some text, no picture").decode()
    a1111 = keyed.post(
        "/sdapi/v1/img2img", json={"prompt": "a cat", "init_images": [text]}, headers=ALICE
    )
    body = assert_a1111(a1111, 422)
    assert body["errors"].startswith("init_images: ") and "not an image" in body["errors"]
    assert body["detail"].count("not an image") == 1
    files = {"image": ("cat.png", b"just some text, no picture", "image/png")}
    openai = keyed.post("/v1/images/edits", files=files, data={"prompt": "a cat"}, headers=ALICE)
    error = assert_openai(openai, 400)["error"]
    assert error["param"] == "image"
    assert error["message"].count("not an image") == 1


def test_success_is_untouched(keyed: TestClient) -> None:
    models = keyed.get("/v1/models", headers=ALICE)
    assert models.status_code == 200 and models.json()["object"] == "list"
    progress = keyed.get("/sdapi/v1/progress", headers=ALICE)
    assert progress.status_code == 200 and "progress" in progress.json()


def test_our_own_routes_keep_our_error_shape(keyed: TestClient) -> None:
    missing = keyed.get("/jobs/0123abcd", headers=ALICE)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    refused = keyed.get("/jobs")
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "unauthorized"


def test_a_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True, rate_limit="1/minute")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.post("/jobs", json={"prompt": "x"}).status_code == 202
        a1111 = client.post("/sdapi/v1/txt2img", json={"prompt": "x"})
        openai = client.post("/v1/images/generations", json={"prompt": "x"})
    assert_a1111(a1111, 429, "rate_limited")
    assert_openai(openai, 429, "rate_limit_exceeded")
    for response in (a1111, openai):
        assert int(response.headers["retry-after"]) >= 1


def test_a_full_queue_is_429_with_retry_after(tmp_path: Path) -> None:
    # Slow steps keep the first job running; the second waits and fills the line.
    settings = make_settings(tmp_path, use_mocks=True, max_queue=1, mock_step_seconds=0.2)
    small = {"prompt": "x", "width": 64, "height": 64}
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        running = client.post("/jobs", json=small).json()["job_id"]
        wait_until(
            lambda: client.get(f"/jobs/{running}").json()["status"] == "running",
            "the first job running",
        )
        waiting = client.post("/jobs", json=small).json()["job_id"]
        a1111 = client.post("/sdapi/v1/txt2img", json=small)
        openai = client.post("/v1/images/generations", json=small)
        for job_id in (waiting, running):
            client.delete(f"/jobs/{job_id}")
    assert_a1111(a1111, 429, "queue_full")
    assert_openai(openai, 429, "rate_limit_exceeded")
    for response in (a1111, openai):
        assert int(response.headers["retry-after"]) >= 1
        assert "x-should-retry" not in response.headers
