"""entrypoints.upload_body: a form cannot hold the server with its parts.

A form's parts are counted before any part's headers are parsed, each part's headers are
bounded, and the split runs in a worker thread, not on the event loop.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints import upload_body
from entrypoints.app import create_app
from entrypoints.http_errors import HttpError
from entrypoints.upload_body import MAX_FORM_PARTS, MAX_PART_HEADER_BYTES, the_one_file
from tests.conftest import make_settings

FORM = "multipart/form-data; boundary=xyz"
FILE_HEAD = b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'


def png() -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(stream, format="PNG")
    return stream.getvalue()


def form(*parts: bytes) -> bytes:
    return b"".join(b"--xyz\r\n" + part + b"\r\n" for part in parts) + b"--xyz--\r\n"


def field(index: int) -> bytes:
    return b'Content-Disposition: form-data; name="f%d"\r\n\r\nvalue' % index


def refusal(body: bytes) -> HttpError:
    with pytest.raises(HttpError) as caught:
        the_one_file(FORM, body)
    return caught.value


def test_a_form_of_forty_thousand_tiny_parts_is_refused_by_its_count() -> None:
    # Each part lacks the blank line after its headers: had any been parsed, the refusal
    # would say so; it names the count instead.
    body = b"--xyz\r\nX: y\r\n" * 40_000 + b"--xyz\r\n" + FILE_HEAD + png() + b"\r\n--xyz--"
    error = refusal(body)
    assert error.status == 400
    assert "40,001 parts" in error.message
    assert f"at most {MAX_FORM_PARTS}" in error.message


def test_a_form_at_the_part_limit_gives_its_file() -> None:
    fields = [field(index) for index in range(MAX_FORM_PARTS - 1)]
    assert the_one_file(FORM, form(*fields, FILE_HEAD + png())) == png()


def test_a_form_one_part_over_the_limit_is_400() -> None:
    fields = [field(index) for index in range(MAX_FORM_PARTS)]
    error = refusal(form(*fields, FILE_HEAD + png()))
    assert error.status == 400
    assert f"{MAX_FORM_PARTS + 1} parts" in error.message


def test_a_part_with_huge_headers_is_400_before_they_are_parsed() -> None:
    padding = b"X-Padding: " + b"a" * MAX_PART_HEADER_BYTES + b"\r\n"
    error = refusal(form(padding + FILE_HEAD + png()))
    assert error.status == 400
    assert f"{MAX_PART_HEADER_BYTES // 1024} KiB" in error.message


def test_the_form_is_split_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_running_where_split: list[bool] = []

    def recording_split(content_type: str, body: bytes) -> bytes:
        try:
            asyncio.get_running_loop()
            loop_running_where_split.append(True)
        except RuntimeError:  # a worker thread has no running loop
            loop_running_where_split.append(False)
        return the_one_file(content_type, body)

    monkeypatch.setattr(upload_body, "the_one_file", recording_split)
    app = create_app(make_settings(tmp_path, use_mocks=True))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post(
            "/uploads", content=form(FILE_HEAD + png()), headers={"content-type": FORM}
        )
    assert response.status_code == 201, response.text
    assert loop_running_where_split == [False]


def test_too_many_parts_is_answered_in_the_error_shape(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    body = form(*(field(index) for index in range(1000)), FILE_HEAD + png())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/uploads", content=body, headers={"content-type": FORM})
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert set(error) == {"type", "message", "details", "request_id"}
    assert error["type"] == "bad_request"
    assert "1,001 parts" in error["message"]
