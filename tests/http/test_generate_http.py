"""POST /image and GET /images through the app, on the mock backend and fakes."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient
from starlette.types import Message
from structlog.testing import capture_logs

from adapters.file_image_store import FileImageStore
from entrypoints.app import create_app
from entrypoints.generation_submission import generation_body_limit
from tests.conftest import make_settings
from tests.support.asgi_calls import json_post_scope, post_and_leave_once_queued
from tests.support.fakes import FakeBackend
from tests.support.waiting import wait_until


def assert_error_shape(body: dict[str, object], error_type: str) -> dict[str, object]:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == {"type", "message", "details", "request_id"}
    assert error["type"] == error_type
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_generate_returns_job_record_and_serves_png(mock_client: TestClient) -> None:
    response = mock_client.post(
        "/image", json={"prompt": "a lighthouse", "seed": 5, "width": 256, "height": 128}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["provider"], body["device"], body["mock"], body["seed"]) == (
        "mock",
        "mock",
        True,
        5,
    )
    assert body["params"] == {
        "prompt": "a lighthouse",
        "negative_prompt": None,
        "num_inference_steps": 20,
        "guidance_scale": 7.5,
        "width": 256,
        "height": 128,
        "seed": 5,
        "scheduler": None,
        "num_images": 1,
        "init_image": None,
        "strength": 0.75,
        "mask_image": None,
        "mask_blur": 4,
        "invert_mask": False,
        "resize_mode": "fill",
    }
    assert body["mode"] == "text_to_image"
    for stamp in ("created_at", "started_at", "completed_at"):
        assert body[stamp].endswith("Z")
    assert isinstance(body["duration_ms"], int)
    assert body["image_url"] == f"/images/{body['job_id']}.png"
    image = mock_client.get(body["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(image.content))
    assert picture.size == (256, 128)
    assert "a lighthouse" in picture.info["parameters"]


def test_mock_output_is_byte_identical_for_same_seed(mock_client: TestClient) -> None:
    def png(seed: int, prompt: str = "same") -> bytes:
        url = mock_client.post("/image", json={"prompt": prompt, "seed": seed}).json()["image_url"]
        return mock_client.get(url).content

    first, again = png(11), png(11)
    assert first == again
    assert png(12) != first
    assert png(11, "other prompt") != first


def test_random_seed_is_reported_and_reproduces(mock_client: TestClient) -> None:
    body = mock_client.post("/image", json={"prompt": "p", "width": 64, "height": 64}).json()
    assert isinstance(body["seed"], int)
    again = mock_client.post("/image", json=body["params"]).json()
    assert mock_client.get(again["image_url"]).content == mock_client.get(body["image_url"]).content


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"prompt"}),
        ({"prompt": ""}, {"prompt"}),
        ({"prompt": 5}, {"prompt"}),
        ({"prompt": "x", "width": 4097}, {"width"}),
        ({"prompt": "x", "num_inference_steps": 10000}, {"num_inference_steps"}),
        ({"prompt": "x", "guidance_scale": True}, {"guidance_scale"}),
        ({"prompt": "x", "extra": 1}, {"extra"}),
        ({"prompt": "x", "height": 100, "seed": -1}, {"height", "seed"}),
    ],
)
def test_validation_errors_are_422_with_one_detail_per_field(
    mock_client: TestClient, body: dict[str, object], fields: set[str]
) -> None:
    response = mock_client.post("/image", json=body)
    assert response.status_code == 422
    error = assert_error_shape(response.json(), "validation_error")
    details = error["details"]
    assert isinstance(details, list)
    assert {detail["field"] for detail in details} == fields


def test_nan_and_infinity_are_rejected(mock_client: TestClient) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        response = mock_client.post(
            "/image",
            content=f'{{"prompt": "x", "guidance_scale": {literal}}}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, literal


def test_malformed_json_is_400(mock_client: TestClient) -> None:
    for raw in ('{"prompt": ', "\xff\xfe", "[1, 2"):
        response = mock_client.post(
            "/image", content=raw.encode("latin-1"), headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert_error_shape(response.json(), "bad_request")


def test_json_that_is_not_an_object_is_422(mock_client: TestClient) -> None:
    response = mock_client.post("/image", json=["prompt"])
    assert response.status_code == 422


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_other_media_types_are_415(mock_client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = mock_client.post("/image", content=b'{"prompt": "x"}', headers=headers)
    assert response.status_code == 415
    assert_error_shape(response.json(), "unsupported_media_type")


@pytest.fixture
def small_upload_client(tmp_path: Path) -> Iterator[TestClient]:
    """MAX_UPLOAD_MB=1: a generation body may then hold two 1 MB images as base64."""
    app = create_app(make_settings(tmp_path, use_mocks=True, max_upload_mb=1))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_oversized_body_is_413_by_declared_length(small_upload_client: TestClient) -> None:
    body = b'{"prompt": "' + b"x" * generation_body_limit(2**20) + b'"}'
    response = small_upload_client.post(
        "/image", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), "payload_too_large")


def test_a_body_may_hold_two_images_at_the_upload_limit_as_base64() -> None:
    limit = generation_body_limit(20 * 2**20)
    assert limit > 2 * len(base64.b64encode(bytes(20 * 2**20)))
    assert limit < 2 * 28 * 2**20


def test_oversized_chunked_body_is_413(small_upload_client: TestClient) -> None:
    # The test transport buffers the body; the live-server test checks it is not all read.
    def chunks() -> Iterator[bytes]:
        for _ in range(3 * 64):
            yield b"x" * 16 * 1024

    response = small_upload_client.post(
        "/image", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_missing_model_is_503_with_actionable_message(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/image", json={"prompt": "x"})
    assert response.status_code == 503
    message = assert_error_shape(response.json(), "service_unavailable")["message"]
    assert isinstance(message, str)
    assert "make download" in message and "USE_MOCKS=true" in message


def test_backend_failure_is_generic_500(tmp_path: Path) -> None:
    backend = FakeBackend(error=RuntimeError("boom at /home/user/secret.bin"))
    app = create_app(make_settings(tmp_path), backend=backend)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/image", json={"prompt": "x", "width": 64, "height": 64})
    assert response.status_code == 500
    error = assert_error_shape(response.json(), "generation_failed")
    assert "secret" not in str(error["message"])


def test_unexpected_error_is_500_with_shape_and_request_id(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))

    def explode(request: object) -> None:
        raise ZeroDivisionError("internal detail")

    app.state.services.service.queue.accept = explode
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        response = client.post("/image", json={"prompt": "x"}, headers={"x-request-id": "abc-1"})
    assert response.status_code == 500
    error = assert_error_shape(response.json(), "internal_error")
    assert error["message"] == "Internal server error."
    assert error["request_id"] == "abc-1"
    assert response.headers["x-request-id"] == "abc-1"


def test_timeout_is_504_with_what_to_try(tmp_path: Path) -> None:
    import threading

    backend = FakeBackend(hold=threading.Event())
    app = create_app(make_settings(tmp_path, inference_timeout_seconds=0.2), backend=backend)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/image", json={"prompt": "x", "width": 64, "height": 64})
        assert response.status_code == 504
        message = str(assert_error_shape(response.json(), "generation_timeout")["message"])
        assert "step 0 of 20" in message and "fewer steps" in message
        backend.hold = None
        assert (
            client.post("/image", json={"prompt": "x", "width": 64, "height": 64}).status_code
            == 200
        )


@pytest.mark.parametrize(
    "path",
    [
        "/images/..%2F..%2Fetc%2Fpasswd",
        "/images/..%2fmain.py",
        "/images/%2Fetc%2Fpasswd",
        "/images/..\\main.py",
        "/images/..%5Cmain.py",
        "/images/%00.png",
        "/images/.partial-x.png",
        "/images/missing.png",
        "/images/../main.py",
        "/images/C:%5Cwindows.png",
    ],
)
def test_image_route_serves_nothing_outside_the_folder(mock_client: TestClient, path: str) -> None:
    response = mock_client.get(path)
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_image_ranges_never_amplify_and_a_malformed_one_is_ignored(
    mock_client: TestClient,
) -> None:
    answer = mock_client.post("/image", json={"prompt": "x", "width": 64, "height": 64})
    url = answer.json()["image_url"]
    whole = mock_client.get(url).content

    part = mock_client.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole[:10]
    # 10,000 ranges over the same bytes: one copy of the file at most, not 10,000.
    many = mock_client.get(url, headers={"Range": "bytes=" + ",".join(["0-"] * 10_000)})
    assert many.status_code in (200, 206) and len(many.content) <= len(whole)
    for malformed in ("bytes=abc", "bytes=9-1", "items=0-9", "bytes=-", "bytes=0-9,x"):
        ignored = mock_client.get(url, headers={"Range": malformed})
        assert (ignored.status_code, ignored.content) == (200, whole), malformed
    for beyond_the_end in (f"bytes={len(whole)}-", "bytes=-0", f"bytes={'9' * 5000}-"):
        beyond = mock_client.get(url, headers={"Range": beyond_the_end})
        assert beyond.status_code == 416, beyond_the_end
        assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
        assert_error_shape(beyond.json(), "range_not_satisfiable")
    # Only the ranges that start inside the file are served (RFC 9110 14.1.2); numbers too
    # long for int() are just large.
    some = mock_client.get(url, headers={"Range": f"bytes=0-9,{len(whole)}-"})
    assert some.status_code == 206 and some.content == whole[:10]
    for clamped in (f"bytes=0-{'9' * 5000}", f"bytes=-{'9' * 5000}"):
        everything = mock_client.get(url, headers={"Range": clamped})
        assert (everything.status_code, everything.content) == (206, whole), clamped[:12]
    # An empty list element is allowed (RFC 9110 5.6.1); a stale If-Range means the whole image.
    tolerated = mock_client.get(url, headers={"Range": "bytes=0-9,"})
    assert tolerated.status_code == 206 and tolerated.content == whole[:10]
    stale = {"Range": f"bytes={len(whole)}-", "If-Range": '"an-older-etag"'}
    assert mock_client.get(url, headers=stale).status_code == 200


def test_symlink_out_of_the_folder_is_not_served(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True)
    settings.generated_dir.mkdir(parents=True)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for you")
    (settings.generated_dir / "link.png").symlink_to(secret)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.get("/images/link.png").status_code == 404


def test_request_id_is_echoed_or_generated(mock_client: TestClient) -> None:
    echoed = mock_client.get("/health", headers={"x-request-id": "client-42"})
    assert echoed.headers["x-request-id"] == "client-42"
    generated = mock_client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = mock_client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    error = mock_client.post("/image", json={}, headers={"x-request-id": "client-43"}).json()
    assert error["error"]["request_id"] == "client-43"


def test_unknown_route_and_wrong_method_use_error_shape(mock_client: TestClient) -> None:
    assert_error_shape(mock_client.get("/nope").json(), "not_found")
    response = mock_client.get("/image")
    assert response.status_code == 405
    assert_error_shape(response.json(), "method_not_allowed")


def test_an_image_removed_after_its_lookup_is_a_404_not_a_500(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True)

    class RemovedMeanwhile(FileImageStore):
        """Finds the image, which retention or a DELETE removes before it is read."""

        def path_of(self, name: str) -> Path | None:
            return tmp_path / "removed.png"

    app = create_app(settings, image_store=RemovedMeanwhile(settings.generated_dir))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/images/removed.png")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"prompt": "a \\ud800 lighthouse"}', "prompt"),
        ('{"prompt": "x", "negative_prompt": "\\udfff"}', "negative_prompt"),
        ('{"prompt": "x", "\\ud800": 1}', "\\ud800"),
    ],
)
def test_a_lone_surrogate_anywhere_is_422_and_queues_nothing(
    mock_client: TestClient, raw: str, field: str
) -> None:
    for path in ("/image", "/jobs"):
        response = mock_client.post(
            path, content=raw.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        error = assert_error_shape(response.json(), "validation_error")
        assert error["details"] == [
            {"field": field, "message": "Must be valid Unicode text (a lone surrogate is not)."}
        ]
    assert mock_client.get("/jobs").json() == {"jobs": []}
    # A pair that encodes one character is a character.
    pair = '{"prompt": "\\ud83d\\ude00", "width": 64, "height": 64}'
    response = mock_client.post(
        "/image", content=pair.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["params"]["prompt"] == "\U0001f600"


def test_validation_messages_state_the_whole_rule(mock_client: TestClient) -> None:
    body = {
        "prompt": "   ",
        "width": 4097,
        "height": 100,
        "guidance_scale": float("nan"),
        "scheduler": "fast",
        "seed": None,
        "negative_prompt": 3,
    }
    response = mock_client.post(
        "/image", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    details = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert details == {
        "prompt": "Must not be empty.",
        "width": "Must be between 64 and 1024.",
        "height": "Must be a multiple of 8.",
        "guidance_scale": "Must be a finite number.",
        "scheduler": "Must be one of pndm, euler, euler_a, ddim, lcm, or null for the default.",
        "negative_prompt": "Must be a string or null.",
    }


@pytest.mark.parametrize(
    ("length", "status"),
    [
        (b"\xb2", 400),  # not a length: the body is read as it comes, and is not JSON
        (b"9" * 5000, 413),
    ],
)
def test_a_content_length_int_cannot_read_is_not_a_server_error(
    tmp_path: Path, length: bytes, status: int
) -> None:
    # A server in front may pass what uvicorn's parser would refuse: "²" is a digit to
    # str.isdigit, and int() refuses 5,000 digits.
    app = create_app(make_settings(tmp_path, use_mocks=True))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b'{"prompt": ', "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(json_post_scope("/jobs", (b"content-length", length)), receive, send))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [status]


@pytest.mark.parametrize("path", ["/image", "/jobs"])
def test_a_client_that_leaves_mid_body_is_not_a_server_error(tmp_path: Path, path: str) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"prompt": "a lightho', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = json_post_scope(path)
    with capture_logs() as logs:
        asyncio.run(app(scope, receive, send))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [499]
    assert [e for e in logs if e["log_level"] in ("error", "critical", "exception")] == []
    assert [e["status"] for e in logs if e["event"] == "request"] == [499]
    assert any(e["event"] == "client_disconnected" and e["log_level"] == "info" for e in logs)


@pytest.mark.parametrize("path", ["/image", "/jobs", "/session"])
def test_a_body_that_stops_arriving_gets_408_after_the_header_timeout(
    tmp_path: Path, path: str
) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, header_timeout_seconds=0.2))
    first = True
    never = asyncio.Event()

    async def receive() -> Message:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b'{"prompt": "a lightho', "more_body": True}
        await never.wait()  # the rest of the body never comes
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = json_post_scope(path)
    asyncio.run(app(scope, receive, send))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [408]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    error = assert_error_shape(json.loads(body), "request_timeout")
    assert "0.2 seconds" in str(error["message"])


def test_the_public_session_route_takes_a_small_body(mock_client: TestClient) -> None:
    response = mock_client.post("/session", json={"key": "k" * 2000})
    assert response.status_code == 413
    error = assert_error_shape(response.json(), "payload_too_large")
    assert "1 KiB" in str(error["message"])


def test_a_client_that_leaves_while_its_job_waits_drops_it(tmp_path: Path) -> None:
    backend = FakeBackend(hold=threading.Event())
    app = create_app(make_settings(tmp_path), backend=backend)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            ahead = client.post("/jobs", json={"prompt": "ahead", "width": 64, "height": 64})
            wait_until(lambda: backend.calls, "the job ahead to run")
            body = {"prompt": "a lighthouse", "width": 64, "height": 64}
            assert post_and_leave_once_queued(client, "/image", body) == [499]
            jobs = client.get("/jobs").json()["jobs"]
            dropped = [job for job in jobs if job["job_id"] != ahead.json()["job_id"]]
            assert [job["status"] for job in dropped] == ["cancelled"]
    finally:
        assert backend.hold is not None
        backend.hold.set()
