"""The UI's files (`/` and `/static/*`), with Range errors in the JSON shape like images."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

from entrypoints.image_files import RangeCheckedFileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class StaticAssets(StaticFiles):
    """StaticFiles answering through RangeCheckedFileResponse, its one file response."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = RangeCheckedFileResponse(full_path, stat_result)
        response.status_code = status_code
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


async def index(request: Request) -> Response:
    page = STATIC_DIR / "index.html"
    return RangeCheckedFileResponse(
        page, os.stat(page), media_type="text/html", headers={"Cache-Control": "no-cache"}
    )
