"""Reading a JSON request body safely: media type, size limit, syntax."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from domain.errors import FieldError, InvalidRequest
from entrypoints.http_errors import HttpError

MAX_BODY_BYTES = 64 * 1024


async def read_json_object(request: Request, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The body as a JSON object; 415, 413 or 400 before any work is done on it.

    Requiring ``application/json`` also keeps cross-site "simple" form posts out.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HttpError(415, "Send the body as JSON with Content-Type: application/json.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, f"The body is larger than {limit // 1024} KiB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"The body is larger than {limit // 1024} KiB.")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise HttpError(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidRequest([FieldError("body", "Must be a JSON object.")])
    return data
