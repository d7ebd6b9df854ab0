"""`POST /sdapi/v1/png-info`: the AUTOMATIC1111 infotext in an image, and its other text.

Only the PNG's chunks before its pixels are read (where our PNGs, and A1111's, keep their
text): the header is parsed by Pillow's PNG class directly, which decodes no pixel, so a
picture of any size costs only its text. JPEG and WEBP carry no `parameters` chunk: their
answer is empty, as A1111's is for an image without infotext. Anything else is refused.
"""

from __future__ import annotations

import asyncio
import io
import struct
from typing import Any

from PIL import PngImagePlugin
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.non_image_content import what_it_is
from application.inline_images import decode_inline_image
from domain.errors import FieldError, InvalidRequest
from entrypoints.app_state import services
from entrypoints.automatic1111.infotext import parse_infotext
from entrypoints.generation_submission import generation_body_limit
from entrypoints.json_body import read_json_object

_PNG = b"\x89PNG\r\n\x1a\n"
_OTHER_IMAGES = (b"\xff\xd8\xff", b"RIFF")  # JPEG; WEBP (checked further below)
_ACCEPTED = "send a PNG (or a JPEG or WEBP, which carry no parameters)"
# What Pillow raises on a damaged header or an oversized text chunk.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)
# Chunks Pillow puts in `info` that are not text A1111 would list (its IGNORED_INFO_KEYS).
_NOT_TEXT = {"dpi", "exif", "icc_profile", "gamma", "transparency", "aspect", "srgb"}


def _refused(message: str) -> InvalidRequest:
    return InvalidRequest([FieldError("image", message)])


def image_bytes(value: object, max_bytes: int) -> bytes:
    """The bytes of ``value``: base64, or a data: URL holding it; at most ``max_bytes``
    (past them a 413, as for any image a client sends)."""
    if not isinstance(value, str) or not value.strip():
        raise _refused("Must be an image as base64 or a data: URL.")
    return decode_inline_image("image", value, max_bytes)


def text_chunks(data: bytes) -> dict[str, str]:
    """The PNG's text chunks before its pixels; {} for a JPEG or WEBP. Blocking."""
    if data.startswith(_OTHER_IMAGES[0]) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return {}
    if not data.startswith(_PNG):
        raise _refused(what_it_is(data, _ACCEPTED))
    try:
        with PngImagePlugin.PngImageFile(io.BytesIO(data)) as image:
            info = dict(image.info)
    except _DAMAGED:
        raise _refused("The PNG file's header or text is damaged or too large to read.") from None
    return {
        key: value
        for key, value in info.items()
        if isinstance(key, str) and isinstance(value, str) and key not in _NOT_TEXT
    }


def png_info_answer(chunks: dict[str, str]) -> dict[str, Any]:
    infotext = chunks.pop("parameters", "")
    return {"info": infotext, "items": chunks, "parameters": parse_infotext(infotext)}


async def png_info(request: Request) -> Response:
    max_bytes = services(request).settings.max_upload_mb * 2**20
    body = await read_json_object(request, generation_body_limit(max_bytes))
    data = image_bytes(body.get("image"), max_bytes)
    chunks = await asyncio.to_thread(text_chunks, data)
    return JSONResponse(png_info_answer(chunks))
