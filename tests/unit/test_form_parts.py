"""entrypoints.upload_body.form_parts: every part of a multipart form, within the bounds
the_one_file keeps (tests/unit/test_upload_body.py)."""

from __future__ import annotations

import pytest

from entrypoints.http_errors import HttpError
from entrypoints.upload_body import FormPart, form_parts

FORM = "multipart/form-data; boundary=xyz"


def form(*parts: bytes) -> bytes:
    return b"".join(b"--xyz\r\n" + part + b"\r\n" for part in parts) + b"--xyz--\r\n"


def test_every_part_is_given_in_order_with_its_name_file_name_and_type() -> None:
    body = form(
        b'Content-Disposition: form-data; name="prompt"\r\n\r\na red barn',
        b'Content-Disposition: form-data; name="image[]"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\nPNGDATA\r\nwith a line break",
        b'Content-Disposition: form-data; name="mask"\r\nContent-Type: IMAGE/PNG\r\n\r\nM',
        b"\r\nheaderless",
    )
    assert form_parts(FORM, body) == [
        FormPart("prompt", None, "text/plain", b"a red barn"),
        FormPart("image[]", "a.png", "image/png", b"PNGDATA\r\nwith a line break"),
        FormPart("mask", None, "image/png", b"M"),
        FormPart(None, None, "text/plain", b"headerless"),
    ]
    assert [part.is_file for part in form_parts(FORM, body)] == [False, True, True, False]


def test_a_name_in_utf8_or_rfc_2231_reads_as_text() -> None:
    body = form(
        'Content-Disposition: form-data; name="légende"\r\n\r\nx'.encode(),
        b"Content-Disposition: form-data; name*=UTF-8''l%C3%A9gende\r\n\r\ny",
        b'Content-Disposition: form-data; name="\xff"\r\n\r\nz',
    )
    assert [part.name for part in form_parts(FORM, body)] == ["légende", "légende", "\ufffd"]


def test_the_part_count_is_the_callers_bound() -> None:
    body = form(*(b'Content-Disposition: form-data; name="f"\r\n\r\nv' for _ in range(5)))
    assert len(form_parts(FORM, body, max_parts=5)) == 5
    with pytest.raises(HttpError) as caught:
        form_parts(FORM, body, max_parts=4)
    assert caught.value.status == 400
    assert "5 parts; at most 4" in caught.value.message


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", form(b"\r\nx")),
        (FORM, b"no delimiter at all"),
        (FORM, b"--xyz\r\n\r\nx\r\n"),  # no closing boundary
        (FORM, b"--xyz\r\nX: y\r\n--xyz--"),  # no blank line after the headers
    ],
)
def test_a_malformed_form_is_400(content_type: str, body: bytes) -> None:
    with pytest.raises(HttpError) as caught:
        form_parts(content_type, body)
    assert caught.value.status == 400
