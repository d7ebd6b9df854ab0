"""What an OpenAI images call answers: `{"created", "data": [...]}` from our jobs.

Each image is the very PNG the gallery shows, with its provenance (A1111's `parameters`
text): as base64 (`b64_json`) or as the absolute URL of `/images/<name>` (`url`). An
`output_format` of "jpeg" or "webp" still gets PNG, which keeps the provenance; the
answer says `"output_format": "png"`, as the newer API does.

When a safety checker judged the images, each item also has `"nsfw": true|false` (true:
flagged, and both `b64_json` and `url` give the covered image, the only one stored);
without a checker the items are exactly OpenAI's. The `openai` client's models keep
extra fields (`item.model_extra["nsfw"]`, or `item.nsfw`).
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from application.ports import ImageStore
from domain.errors import ImageNotFound
from domain.job import ImageRef
from entrypoints.app_state import services
from entrypoints.generation_submission import CallOutcome
from entrypoints.http_errors import CLIENT_CLOSED_REQUEST


async def images_answer(request: Request, outcome: CallOutcome, response_format: str) -> Response:
    """The answer to a call that ran as ``outcome``: a bare 499 when the client left, the
    images made when a job was cancelled after some, the cancellation's error (409) when
    none was made. A call whose later job was refused (a full queue, a full disk) gets the
    images made, fewer than `n`: OpenAI's answer has no field for a warning."""
    if outcome.client_left:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    built = services(request)
    jobs = outcome.succeeded
    if not jobs:
        built.service.raise_for_outcome(outcome.jobs[-1])
    images = [image for job in jobs for image in job.images]
    data: list[dict[str, Any]]
    if response_format == "url":
        base = str(request.base_url)  # the application's root, not /v1's
        data = [{"url": f"{base}images/{image.name}", "revised_prompt": None} for image in images]
    else:
        data = await asyncio.to_thread(_inline, built.image_store, images)
    for item, image in zip(data, images, strict=True):
        if image.nsfw is not None:
            item["nsfw"] = image.nsfw
    finished = jobs[-1].completed_at or built.service.clock()
    body: dict[str, Any] = {
        "created": int(finished.timestamp()),
        "data": data,
        "background": "opaque",
        "output_format": "png",
        "size": f"{images[0].width}x{images[0].height}",
    }
    return JSONResponse(body)


def _inline(store: ImageStore, images: list[ImageRef]) -> list[dict[str, Any]]:
    return [
        {"b64_json": _base64_png(store.path_of(image.name)), "revised_prompt": None}
        for image in images
    ]


def _base64_png(path: Path | None) -> str:
    try:
        data = path.read_bytes() if path is not None else None
    except OSError:
        data = None
    if data is None:
        # Removed between the job's end and now (DELETE, retention): nothing to send.
        raise ImageNotFound("An image of this call was removed before it could be sent.")
    return base64.b64encode(data).decode("ascii")
