"""Serving files: stored PNGs long-cached, and every file (the UI too) with byte ranges
whose errors keep our JSON shape.

Starlette answers a malformed `Range` header with a plain-text 400 and an unsatisfiable
one with an empty plain-text 416, the only errors that would leave our JSON shape.
RFC 9110 lets a server ignore a malformed header, and the whole file is the more useful
answer; an unsatisfiable one gets our 416. Both checks (the RFC's grammar) run before
Starlette sees the header, through FileResponse's public ASGI call only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from domain.errors import DomainError, ImageNotFound
from entrypoints.app_state import services
from entrypoints.client_identity import client_of
from entrypoints.http_errors import error_response

# bytes=first-[last] or bytes=-suffix, comma-separated (RFC 9110 section 14.1.2).
_RANGE_SPEC = re.compile(r"\s*(?:(\d+)-(\d*)|-(\d+))\s*")


RangeSpec = tuple[str | None, str | None, str | None]
"""One range's digits as written: (first, last, suffix length)."""


def parse_range(value: str) -> list[RangeSpec] | None:
    """The header's ranges, or None when it is malformed (RFC 9110 14.1.2: then it is
    ignored). Empty list elements do not count (RFC 9110 5.6.1)."""
    units, _, listed = value.partition("=")
    if units.strip().lower() != "bytes":
        return None
    specs: list[RangeSpec] = []
    for element in listed.split(","):
        if not element.strip():
            continue
        match = _RANGE_SPEC.fullmatch(element)
        if match is None:
            return None
        first, last, suffix = match.groups()
        if first is not None and last and _number(last) < _number(first):
            return None
        specs.append((first, last, suffix))
    return specs or None


def _number(digits: str) -> int:
    """A byte position; beyond any file's size when it has too many digits for int()
    (Python refuses over 4,300), which is all a comparison with a size needs."""
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


_MAX_DIGITS = 30


def satisfiable_ranges(specs: list[RangeSpec], size: int) -> list[tuple[int, int]]:
    """The ranges that start inside a file of ``size`` bytes, as inclusive (first, last)
    positions clamped to the file (RFC 9110 14.1.2)."""
    ranges = []
    for first, last, suffix in specs:
        if first is not None:
            start = _number(first)
            end = min(_number(last), size - 1) if last else size - 1
        else:
            assert suffix is not None  # the pattern matched one of its two forms
            start, end = max(size - _number(suffix), 0), size - 1
        if start < size and start <= end:
            ranges.append((start, end))
    return ranges


class RangeCheckedFileResponse(FileResponse):
    """A FileResponse whose Range handling answers errors in the JSON shape."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        stat: os.stat_result,
        media_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(path, media_type=media_type, headers=headers, stat_result=stat)
        self._size = stat.st_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = Headers(scope=scope)
        http_range, if_range = asked.get("range"), asked.get("if-range")
        # An If-Range that no longer matches means "the whole file": Starlette does that.
        applies = http_range is not None and (
            if_range is None or if_range in (self.headers["etag"], self.headers["last-modified"])
        )
        if applies and http_range is not None:
            specs = parse_range(http_range)
            if specs is None:
                scope = _with_range(scope, None)  # ignored: the whole file
            else:
                ranges = satisfiable_ranges(specs, self._size)
                if not ranges:
                    await self._refuse_range(scope, receive, send)
                    return
                # Only the satisfiable ones, with small numbers, go on to Starlette.
                listed = ",".join(f"{first}-{last}" for first, last in ranges)
                scope = _with_range(scope, f"bytes={listed}")
        await super().__call__(scope, receive, send)

    async def _refuse_range(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = error_response(
            416,
            "range_not_satisfiable",
            f"The file has {self._size} bytes; no requested range starts inside it.",
            scope.get("state", {}).get("request_id"),
            headers={"Content-Range": f"bytes */{self._size}"},
        )
        await refusal(scope, receive, send)


def _with_range(scope: Scope, value: str | None) -> Scope:
    """``scope`` with its Range header replaced (or removed, for None)."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]
    if value is not None:
        headers.append((b"range", value.encode("latin-1")))
    return {**scope, "headers": headers}


def _visible_image(request: Request, name: str) -> bool:
    """Whether this client may fetch the image: an admin any, others their own jobs' only."""
    client = client_of(request)
    if client.admin:  # no lookup on the common path: a service without keys
        return True
    job_id = name.split(".", 1)[0].split("-", 1)[0]  # `<job id>.png`, `<job id>-<n>.png`
    try:
        return client.may_see(services(request).service.history.get(job_id).owner)
    except ImageNotFound:
        return False


async def get_image(request: Request) -> Response:
    name = request.path_params["name"]
    if not _visible_image(request, name):
        raise ImageNotFound("No such image.")
    return stored_png(services(request).image_store.path_of(name), ImageNotFound("No such image."))


def stored_png(path: Path | None, missing: DomainError) -> Response:
    """A stored PNG (an image, an upload), cached for good: one never changes under its
    name. Raises ``missing`` when there is none."""
    try:
        # Here, not in the response: a file removed meanwhile (retention, DELETE, or
        # refused while Windows finishes removing a held file) is a 404, where Starlette's
        # own stat would raise (a 500). One removed after the headers went out still cuts
        # the response short: nothing can answer 404 then.
        stat = os.lstat(path) if path is not None else None
    except OSError:
        stat = None
    if path is None or stat is None:
        raise missing
    return RangeCheckedFileResponse(
        path,
        stat,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )
