"""Reading an uploaded image from a request: its media type, size and time limits, and the
one file of a multipart form; and the parts of any form (`read_form`, for OpenAI's
image edits, whose form holds images and text fields).

The body is read by entrypoints.bounded_body: refused as soon as it passes the limit, so
no more than MAX_UPLOAD_MB (plus a form's small envelope) is ever held, and given time
while it keeps arriving. A multipart body is split at its boundary here, with the
standard library's email parser reading each part's headers only: python-multipart,
which Starlette's `request.form()` needs, is not installed, and the email parser's own
walk over a 20 MB binary part takes seconds. The parts are counted before any header is
parsed (40,000 tiny parts before the file held the server 32 s), each part's headers are
bounded, and the split runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value

from starlette.requests import Request

from domain.errors import FieldError, InvalidRequest
from entrypoints.app_state import services
from entrypoints.bounded_body import read_body
from entrypoints.http_errors import HttpError

IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")
MULTIPART = "multipart/form-data"
# A form's boundaries and part headers around its file; generous, and bounded.
MULTIPART_ENVELOPE_BYTES = 64 * 1024
# A form for an upload has its file and perhaps a field or two.
MAX_FORM_PARTS = 16
# A part's headers are a few lines (Content-Disposition, Content-Type).
MAX_PART_HEADER_BYTES = 8 * 1024


def too_large_message(max_bytes: int) -> str:
    return f"The image is larger than {max_bytes / 2**20:g} MB, the upload limit (MAX_UPLOAD_MB)."


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The image's bytes as sent, raw or as a form's one file; 415, 413, 408, 400 or 422
    before anything is decoded."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in (*IMAGE_MEDIA_TYPES, MULTIPART):
        raise HttpError(
            415,
            "Send the image as the body with Content-Type image/png, image/jpeg or "
            "image/webp, or as multipart/form-data with one file.",
        )
    limit = max_bytes + (MULTIPART_ENVELOPE_BYTES if media_type == MULTIPART else 0)
    body = await read_body(
        request,
        limit=limit,
        too_large=too_large_message(max_bytes),
        gap_seconds=services(request).settings.header_timeout_seconds,
    )
    if media_type != MULTIPART:
        return body
    # Splitting 20 MB and parsing up to MAX_FORM_PARTS headers: milliseconds, but not
    # the event loop's, which every other request waits on.
    return await asyncio.to_thread(the_one_file, content_type, body)


async def read_form(
    request: Request, *, limit: int, too_large: str, max_parts: int
) -> list[FormPart]:
    """A multipart/form-data body's parts, with the bounds of ``read_upload``: 415 for
    another media type, 413 past ``limit`` bytes, 408, and 400 for a malformed form."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != MULTIPART:
        raise HttpError(415, "Send the request as multipart/form-data, the images as its files.")
    body = await read_body(
        request,
        limit=limit,
        too_large=too_large,
        gap_seconds=services(request).settings.header_timeout_seconds,
    )
    return await asyncio.to_thread(form_parts, content_type, body, max_parts)


def the_one_file(content_type: str, body: bytes) -> bytes:
    """The content of the form's only file part (RFC 7578); parts without a file, such as
    a text field beside it, are ignored."""
    files = [part.data for part in form_parts(content_type, body) if part.is_file]
    if len(files) != 1:
        raise InvalidRequest(
            [FieldError("file", f"Send exactly one file in the form; it has {len(files)}.")]
        )
    return files[0]


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart/form-data body."""

    name: str | None
    """The form field's name (Content-Disposition's ``name``); None when it has none."""
    filename: str | None
    content_type: str
    """Lower case; ``text/plain`` when the part says none (RFC 7578)."""
    data: bytes

    @property
    def is_file(self) -> bool:
        """A file has a file name or an image type; anything else is a text field."""
        return self.filename is not None or self.content_type.startswith("image/")


def form_parts(content_type: str, body: bytes, max_parts: int = MAX_FORM_PARTS) -> list[FormPart]:
    """Every part of the form, in order (RFC 7578): 400 for a malformed body, more than
    ``max_parts`` parts (counted before any is parsed) or a part's oversized headers."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise HttpError(400, "The multipart/form-data Content-Type names no boundary.")
    delimiter = b"\r\n--" + boundary.encode("latin-1", "replace")
    start = body.find(delimiter[2:])
    if start < 0:
        raise HttpError(400, "The multipart body has no part.")
    framed = b"\r\n" + body[start:]
    # Counted (a fast scan) before anything is split or parsed: the closing delimiter is
    # one more than the parts.
    parts = framed.count(delimiter) - 1
    if parts > max_parts:
        raise HttpError(
            400,
            f"The form has {parts:,} parts; at most {max_parts} are read. Send the "
            "image as a file, with few other fields or none.",
        )
    sections = framed.split(delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise HttpError(400, "The multipart body ends before its closing boundary.")
    return [_part(section) for section in sections[1:-1]]


def _part(section: bytes) -> FormPart:
    # The delimiter's line may end in spaces or tabs ("transport padding") before CRLF.
    line_end = section.find(b"\r\n")
    if line_end < 0 or section[:line_end].strip(b" \t"):
        raise HttpError(400, "A multipart boundary line is malformed.")
    part = section[line_end + 2 :]
    if part.startswith(b"\r\n"):  # a part without headers
        return FormPart(None, None, "text/plain", part[2:])
    head, separator, content = part.partition(b"\r\n\r\n")
    if not separator:
        raise HttpError(400, "A multipart part has no blank line after its headers.")
    if len(head) > MAX_PART_HEADER_BYTES:
        raise HttpError(
            400, f"A multipart part's headers are over {MAX_PART_HEADER_BYTES // 1024} KiB."
        )
    headers = BytesHeaderParser(policy=policy.HTTP).parsebytes(head + b"\r\n\r\n")
    return FormPart(
        _disposition_param(headers, "name"),
        _disposition_param(headers, "filename"),
        headers.get_content_type(),
        content,
    )


def _disposition_param(headers: Message, name: str) -> str | None:
    value = headers.get_param(name, header="content-disposition")
    if value is None:
        return None
    text = collapse_rfc2231_value(value)  # an RFC 2231 value comes as a tuple
    # The parser read the bytes as ASCII, escaping the others: UTF-8 names come back
    # whole, and a byte that is not UTF-8 becomes U+FFFD.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
