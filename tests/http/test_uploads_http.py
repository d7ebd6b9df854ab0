"""`/uploads` over HTTP: raw and multipart bodies, the refusals, listing, serving,
deleting, whose uploads a client sees, and retention."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.types import Message

from entrypoints.app import create_app
from entrypoints.cli import retention
from tests.conftest import make_settings

KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789,teacher:teacher-key-0123456789:admin"
ALICE = {"authorization": "Bearer alice-key-0123456789"}
BOB = {"authorization": "Bearer bob-key-0123456789"}
TEACHER = {"authorization": "Bearer teacher-key-0123456789"}
UPLOAD_FIELDS = {
    "id",
    "width",
    "height",
    "sha256",
    "size_bytes",
    "source_format",
    "created_at",
    "url",
}


def encoded(fmt: str = "PNG", size: tuple[int, int] = (40, 24), **options: Any) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(stream, format=fmt, **options)
    return stream.getvalue()


def client_for(tmp_path: Path, **settings: Any) -> TestClient:
    app = create_app(make_settings(tmp_path, use_mocks=True, **settings))
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as test_client:
        yield test_client


def upload(client: TestClient, data: bytes, media_type: str = "image/png", **kw: Any) -> Any:
    return client.post("/uploads", content=data, headers={"content-type": media_type, **kw})


def uploads_dir(tmp_path: Path) -> Path:
    return tmp_path / "generated" / "uploads"


def stored_files(tmp_path: Path) -> list[str]:
    folder = uploads_dir(tmp_path)
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def assert_error(response: Any, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"type", "message", "details", "request_id"}
    assert error["type"] == error_type
    return error


# Uploading -------------------------------------------------------------------------------


def test_a_raw_png_is_stored_and_served(client: TestClient) -> None:
    response = upload(client, encoded("PNG"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == UPLOAD_FIELDS
    assert (body["width"], body["height"], body["source_format"]) == (40, 24, "PNG")
    assert body["url"] == f"/uploads/{body['id']}.png"
    assert response.headers["location"] == body["url"]
    assert body["created_at"].endswith("Z")

    served = client.get(body["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert hashlib.sha256(served.content).hexdigest() == body["sha256"]
    assert len(served.content) == body["size_bytes"]


@pytest.mark.parametrize(("fmt", "media_type"), [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_jpeg_and_webp_are_taken_and_stored_as_png(
    client: TestClient, fmt: str, media_type: str
) -> None:
    response = upload(client, encoded(fmt), media_type)
    assert response.status_code == 201, response.text
    assert response.json()["source_format"] == fmt
    served = client.get(response.json()["url"])
    assert Image.open(io.BytesIO(served.content)).format == "PNG"


def test_a_form_with_one_file_is_taken(client: TestClient) -> None:
    response = client.post(
        "/uploads",
        files={"file": ("photo.jpg", encoded("JPEG"), "image/jpeg")},
        data={"note": "a text field beside the file is ignored"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["source_format"] == "JPEG"


def test_a_form_with_two_files_or_none_is_422(client: TestClient, tmp_path: Path) -> None:
    two = client.post(
        "/uploads",
        files=[("a", ("a.png", encoded(), "image/png")), ("b", ("b.png", encoded(), "image/png"))],
    )
    error = assert_error(two, 422, "validation_error")
    assert error["details"][0]["field"] == "file"
    assert "2" in error["details"][0]["message"]
    none = client.post("/uploads", files={"only": (None, "text")})
    assert_error(none, 422, "validation_error")
    assert stored_files(tmp_path) == []


def test_a_malformed_form_is_400(client: TestClient) -> None:
    body = b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\nnoend"
    response = upload(client, body, "multipart/form-data; boundary=xyz")
    assert_error(response, 400, "bad_request")
    assert_error(upload(client, body, "multipart/form-data"), 400, "bad_request")


@pytest.mark.parametrize("media_type", ["text/plain", "application/json", "image/gif", ""])
def test_another_media_type_is_415(client: TestClient, media_type: str) -> None:
    response = upload(client, encoded(), media_type)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "image/png" in error["message"]


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"", "empty"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (encoded("GIF"), "GIF"),
        (encoded("JPEG")[:100], "JPEG"),
    ],
)
def test_what_is_not_a_usable_image_is_422_and_leaves_nothing(
    client: TestClient, tmp_path: Path, data: bytes, named: str
) -> None:
    error = assert_error(upload(client, data), 422, "invalid_image")
    assert error["details"][0]["field"] == "file"
    assert named in error["details"][0]["message"]
    assert stored_files(tmp_path) == []


def test_an_animated_png_is_422_saying_how_many_frames(client: TestClient) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    stream = io.BytesIO()
    frames[0].save(stream, format="PNG", save_all=True, append_images=frames[1:])
    error = assert_error(upload(client, stream.getvalue()), 422, "invalid_image")
    assert "2 frames" in error["message"]


def test_a_body_over_the_limit_is_413_naming_the_limit(tmp_path: Path) -> None:
    with client_for(tmp_path, max_upload_mb=1) as client:
        error = assert_error(upload(client, b"\x89PNG" + bytes(2**20)), 413, "payload_too_large")
        assert "1 MB" in error["message"]
        assert "MAX_UPLOAD_MB" in error["message"]
        # In a form, the envelope has room to spare; the file itself is still measured.
        response = client.post(
            "/uploads", files={"file": ("big.png", b"\x89PNG" + bytes(2**20), "image/png")}
        )
        error = assert_error(response, 413, "payload_too_large")
        assert "MAX_UPLOAD_MB" in error["message"]
        assert error["details"][0]["field"] == "file"
    assert stored_files(tmp_path) == []


def image_post_scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    """A raw image POST as uvicorn hands it over, for the receive/send a test controls."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/uploads",
        "raw_path": b"/uploads",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"image/png"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def answered(app: Any, scope: dict[str, object], incoming: list[Message]) -> tuple[int, bytes]:
    """The status and body ``app`` answers; ``receive`` gives ``incoming``, then waits
    for ever (a body that stops arriving)."""
    sent: list[Message] = []
    never = asyncio.Event()

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await never.wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, max_upload_mb=1))
    scope = image_post_scope((b"content-length", str(2**20 + 1).encode()))
    status, body = answered(app, scope, [])  # a read would wait for ever
    assert status == 413
    assert "MAX_UPLOAD_MB" in json.loads(body)["error"]["message"]


def test_a_body_that_stops_arriving_gets_408(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, header_timeout_seconds=0.2))
    first = {"type": "http.request", "body": encoded()[:20], "more_body": True}
    status, body = answered(app, image_post_scope(), [first])
    assert status == 408
    assert json.loads(body)["error"]["type"] == "request_timeout"
    assert stored_files(tmp_path) == []


def test_a_client_that_leaves_mid_body_stores_nothing(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    first = {"type": "http.request", "body": encoded()[:20], "more_body": True}
    status, _ = answered(app, image_post_scope(), [first, {"type": "http.disconnect"}])
    assert status == 499
    assert stored_files(tmp_path) == []


# Listing, serving, deleting ------------------------------------------------------------


def test_uploads_are_listed_newest_first_and_deleted(client: TestClient, tmp_path: Path) -> None:
    first = upload(client, encoded()).json()
    second = upload(client, encoded("JPEG"), "image/jpeg").json()
    listed = client.get("/uploads").json()["uploads"]
    assert [item["id"] for item in listed] == [second["id"], first["id"]]
    assert listed[0] == second

    assert client.delete(f"/uploads/{first['id']}").status_code == 204
    assert_error(client.get(first["url"]), 404, "not_found")
    assert_error(client.delete(f"/uploads/{first['id']}"), 404, "not_found")
    assert [item["id"] for item in client.get("/uploads").json()["uploads"]] == [second["id"]]
    assert stored_files(tmp_path) == [f"{second['id']}.json", f"{second['id']}.png"]


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/0123456789abcdef0123456789abcdef.png",
        "/uploads/0123456789abcdef0123456789abcdef",
        "/uploads/0123456789abcdef0123456789abcdef.json",
        "/uploads/..%2F..%2Fsettings.png",
        "/uploads/.png",
    ],
)
def test_an_unknown_or_malformed_upload_is_404(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


def test_an_upload_is_deleted_by_its_id_not_its_file_name(client: TestClient) -> None:
    body = upload(client, encoded()).json()
    assert_error(client.delete(body["url"]), 404, "not_found")
    assert client.get(body["url"]).status_code == 200


# Whose uploads --------------------------------------------------------------------------


def test_with_keys_each_client_sees_and_deletes_its_own_only(tmp_path: Path) -> None:
    with client_for(tmp_path, api_keys=SecretStr(KEYS)) as client:
        mine = upload(client, encoded(), authorization=ALICE["authorization"]).json()
        assert client.get("/uploads", headers=BOB).json() == {"uploads": []}
        assert_error(client.get(mine["url"], headers=BOB), 404, "not_found")
        assert_error(client.delete(f"/uploads/{mine['id']}", headers=BOB), 404, "not_found")
        assert [item["id"] for item in client.get("/uploads", headers=TEACHER).json()["uploads"]]
        assert client.get(mine["url"], headers=ALICE).status_code == 200
        assert client.get("/uploads", headers=ALICE).json()["uploads"] == [mine]
        assert client.delete(f"/uploads/{mine['id']}", headers=ALICE).status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/uploads"),
        ("GET", "/uploads"),
        ("GET", "/uploads/0123456789abcdef0123456789abcdef.png"),
        ("DELETE", "/uploads/0123456789abcdef0123456789abcdef"),
    ],
)
def test_with_keys_every_upload_route_needs_one(tmp_path: Path, method: str, path: str) -> None:
    with client_for(tmp_path, api_keys=SecretStr(KEYS)) as client:
        response = client.request(
            method, path, content=encoded(), headers={"content-type": "image/png"}
        )
        assert_error(response, 401, "unauthorized")
    assert stored_files(tmp_path) == []


# Retention ------------------------------------------------------------------------------


def age(tmp_path: Path, upload_id: str, days: float) -> None:
    """Make an upload look ``days`` old, as if it had been made then."""
    record_path = uploads_dir(tmp_path) / f"{upload_id}.json"
    record = json.loads(record_path.read_text("utf-8"))
    record["created_at"] = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    record_path.write_text(json.dumps(record), "utf-8")


def test_the_retention_command_removes_uploads_past_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with client_for(tmp_path) as client:
        old, older, new = (
            upload(client, encoded(size=(40 + n, 24))).json()["id"] for n in range(3)
        )
    age(tmp_path, old, 10)
    age(tmp_path, older, 20)
    assert retention(make_settings(tmp_path, retention_max_age_days=7)) == 0
    assert "Removed 2 uploaded input images" in capsys.readouterr().out
    assert stored_files(tmp_path) == [f"{new}.json", f"{new}.png"]
    with client_for(tmp_path) as client:
        assert [item["id"] for item in client.get("/uploads").json()["uploads"]] == [new]


def test_the_retention_command_counts_uploads_like_images(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        ids = [upload(client, encoded(size=(40 + n, 24))).json()["id"] for n in range(3)]
    for days, upload_id in zip((3, 2, 1), ids, strict=True):
        age(tmp_path, upload_id, days)
    assert retention(make_settings(tmp_path, retention_max_images=1)) == 0
    assert stored_files(tmp_path) == [f"{ids[2]}.json", f"{ids[2]}.png"]


def test_the_server_applies_retention_to_uploads_at_its_start(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        old, new = (upload(client, encoded(size=(40 + n, 24))).json()["id"] for n in range(2))
    age(tmp_path, old, 10)
    with client_for(tmp_path, retention_max_age_days=7) as client:
        assert [item["id"] for item in client.get("/uploads").json()["uploads"]] == [new]
    assert stored_files(tmp_path) == [f"{new}.json", f"{new}.png"]


def test_the_server_removes_half_written_uploads_at_its_start(tmp_path: Path) -> None:
    uploads_dir(tmp_path).mkdir(parents=True)
    (uploads_dir(tmp_path) / f"{'a' * 32}.png").write_bytes(encoded())  # its record never came
    (uploads_dir(tmp_path) / ".partial-x.png").write_bytes(b"half")
    with client_for(tmp_path) as client:
        assert client.get("/uploads").json() == {"uploads": []}
    assert stored_files(tmp_path) == []


def test_the_same_image_again_is_the_clients_upload_it_already_has(
    client: TestClient, tmp_path: Path
) -> None:
    first = upload(client, encoded()).json()
    again = upload(client, encoded())
    assert again.status_code == 201 and again.json() == first
    assert again.headers["location"] == first["url"]
    assert stored_files(tmp_path) == [f"{first['id']}.json", f"{first['id']}.png"]


def test_an_old_upload_named_by_a_request_counts_its_age_from_then(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        old, unused = (upload(client, encoded(size=(40 + n, 24))).json()["id"] for n in range(2))
        age(tmp_path, old, 10)
        age(tmp_path, unused, 10)
        answer = client.post(
            "/image", json={"prompt": "x", "init_image": {"upload_id": old}, "strength": 0.5}
        )
        assert answer.status_code == 200, answer.text
    assert retention(make_settings(tmp_path, retention_max_age_days=7)) == 0
    assert stored_files(tmp_path) == [f"{old}.json", f"{old}.png"]
