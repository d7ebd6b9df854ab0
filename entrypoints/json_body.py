"""Reading a JSON request body safely: media type, size and time (entrypoints.bounded_body),
number of values, syntax, depth."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.requests import Request

from domain.errors import FieldError, InvalidRequest
from entrypoints.app_state import services
from entrypoints.bounded_body import read_body
from entrypoints.http_errors import HttpError

MAX_BODY_BYTES = 64 * 1024

MAX_DEPTH = 32
"""Levels of objects and arrays a body may nest, the body itself the first. Ours nest 2;
A1111's deepest (ControlNet's `alwayson_scripts` args) about 6. Deeper bodies would be
walked by recursive code (echoes, copies) that a few hundred levels overflow."""
_TOO_DEEP = f"The body is nested too deeply (at most {MAX_DEPTH} levels of objects and arrays)."

MAX_VALUES = 20_000
"""Values (an upper bound: commas, `{` and `[`) a body may hold. A1111's bodies hold about
a hundred fields, ControlNet's `alwayson_scripts` a few hundred more, ours a dozen; base64
images hold none. Parsed, each tiny value (`0`, `{}`) costs ~50 times its bytes and the
parse holds the GIL throughout: millions of them in an image-sized body would take
gigabytes and stall every other request for seconds."""
_TOO_MANY_VALUES = f"The body holds too many values (at most {MAX_VALUES})."

# JSON may escape half of a UTF-16 pair ("\\ud800"); Python decodes it to a string that
# cannot be encoded, stored or answered back. Strings must be Unicode scalar values.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


async def read_json_object(request: Request, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The body as a JSON object; 415, 413, 408 or 400 before any work is done on it.

    Requiring ``application/json`` also keeps cross-site "simple" form posts out.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HttpError(415, "Send the body as JSON with Content-Type: application/json.")
    # A body that stops arriving would hold its connection, and its place among
    # MAX_CONNECTIONS, for good: 408 (bounded_body), and bounded_http closes the
    # connection after it when the rest of the body is still missing.
    body = await read_body(
        request,
        limit=limit,
        too_large=f"The body is larger than {_size(limit)}.",
        gap_seconds=services(request).settings.header_timeout_seconds,
    )
    # Every value after a body's first follows a comma or opens an object or array;
    # counting them runs at memory speed, before the parser builds anything.
    if body.count(b",") + body.count(b"{") + body.count(b"[") > MAX_VALUES:
        raise HttpError(413, _TOO_MANY_VALUES)
    if len(body) > MAX_BODY_BYTES:
        # Megabytes of inline images take a second to parse and walk: off the event loop,
        # so that every other request is not held up meanwhile.
        return await asyncio.to_thread(_parsed_object, body)
    return _parsed_object(body)


def _parsed_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise HttpError(400, "The body is not valid JSON.") from None
    except RecursionError:  # valid, perhaps, but past the parser's own depth (~1000)
        raise HttpError(400, _TOO_DEEP) from None
    if not isinstance(data, dict):
        raise InvalidRequest([FieldError("body", "Must be a JSON object.")])
    if not _nested_within(data, MAX_DEPTH):
        raise HttpError(400, _TOO_DEEP)
    _refuse_lone_surrogates(data, "body")
    return data


def _nested_within(data: dict[str, Any], levels: int) -> bool:
    """Whether ``data`` nests at most ``levels`` objects and arrays; walked with a list,
    not recursion, so that no depth can overflow the walk itself."""
    to_walk: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)]
    while to_walk:
        value, level = to_walk.pop()
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if isinstance(item, (dict, list)):
                if level == levels:
                    return False
                to_walk.append((item, level + 1))
    return True


def _size(limit: int) -> str:
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def _refuse_lone_surrogates(value: object, field: str) -> None:
    """422 for a lone surrogate in any key or string; the field is named printably."""
    # isascii is a flag lookup; the regex scans every character of a base64 image.
    if isinstance(value, str) and not value.isascii() and _LONE_SURROGATE.search(value):
        message = "Must be valid Unicode text (a lone surrogate is not)."
        raise InvalidRequest([FieldError(field, message)])
    if isinstance(value, list):
        for item in value:
            _refuse_lone_surrogates(item, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key.encode("utf-8", "backslashreplace").decode() if field == "body" else field
            _refuse_lone_surrogates(key, name)
            _refuse_lone_surrogates(item, name)
