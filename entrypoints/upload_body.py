"""Reading an uploaded image from a request: its media type, size and time limits, and the
one file of a multipart form.

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
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

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


def the_one_file(content_type: str, body: bytes) -> bytes:
    """The content of the form's only file part (RFC 7578); parts without a file, such as
    a text field beside it, are ignored."""
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
    if parts > MAX_FORM_PARTS:
        raise HttpError(
            400,
            f"The form has {parts:,} parts; at most {MAX_FORM_PARTS} are read. Send the "
            "image as the form's one file, with few other fields or none.",
        )
    sections = framed.split(delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise HttpError(400, "The multipart body ends before its closing boundary.")
    files = [content for content in map(_file_content, sections[1:-1]) if content is not None]
    if len(files) != 1:
        raise InvalidRequest(
            [FieldError("file", f"Send exactly one file in the form; it has {len(files)}.")]
        )
    return files[0]


def _file_content(section: bytes) -> bytes | None:
    """A part's content when it is a file (it has a file name or an image type)."""
    # The delimiter's line may end in spaces or tabs ("transport padding") before CRLF.
    line_end = section.find(b"\r\n")
    if line_end < 0 or section[:line_end].strip(b" \t"):
        raise HttpError(400, "A multipart boundary line is malformed.")
    part = section[line_end + 2 :]
    if part.startswith(b"\r\n"):  # a part without headers
        return None
    head, separator, content = part.partition(b"\r\n\r\n")
    if not separator:
        raise HttpError(400, "A multipart part has no blank line after its headers.")
    if len(head) > MAX_PART_HEADER_BYTES:
        raise HttpError(
            400, f"A multipart part's headers are over {MAX_PART_HEADER_BYTES // 1024} KiB."
        )
    headers = BytesHeaderParser(policy=policy.HTTP).parsebytes(head + b"\r\n\r\n")
    filename = headers.get_param("filename", header="content-disposition")
    if filename is None and not headers.get_content_type().startswith("image/"):
        return None
    return content
