"""What each route takes and answers: the table `/openapi.json` is generated from.

Bodies and queries name the models the handlers validate with; answers name the models
of what they send. A test walks the app's routes and fails on any route missing here
(or described here and gone), so the published contract cannot drift from the routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from entrypoints.api_models import (
    DeletedImages,
    ErrorAnswer,
    GenerationBody,
    HealthAnswer,
    ImagePage,
    ImagesQuery,
    JobAnswer,
    JobList,
    LiveAnswer,
    ReadyAnswer,
    SessionKey,
    SessionState,
)
from entrypoints.upload_models import UploadAnswer, UploadList


@dataclass(frozen=True)
class Media:
    """A body that is not JSON (or JSON without a model of ours)."""

    type: str
    description: str


Answer = type[BaseModel] | Media | None
"""A model, another media type, or None for no body."""


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: Mapping[int, Answer]
    """Success statuses and route-specific errors; the generator adds the common ones."""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    public: bool = False
    """Served without a key even when keys are set (holds no user data)."""
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    """Response headers a status always carries: name -> description."""
    body_media: tuple[Media, ...] = ()
    """A body that is not JSON: the media types it may come as."""


def errors(*statuses: int) -> dict[int, Answer]:
    return dict.fromkeys(statuses, ErrorAnswer)


_RETRY_AFTER = {429: {"Retry-After": "Seconds to wait before trying again."}}
_BODY_ERRORS = errors(400, 408, 413, 415, 422)
_PNG = Media("image/png", "The PNG, with its generation parameters in text chunks.")
_UPLOAD_PNG = Media(
    "image/png",
    "The stored input image: 8-bit sRGB, RGBA when it has transparency, else RGB; no metadata.",
)
_UPLOAD_BODY = (
    Media("image/png", "The image's bytes."),
    Media("image/jpeg", "The image's bytes."),
    Media("image/webp", "The image's bytes."),
    Media("multipart/form-data", "A form with one file part (its name does not matter)."),
)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/"): Operation("The web UI.", {200: Media("text/html", "The page.")}, public=True),
    ("POST", "/image"): Operation(
        "Generate and wait: the finished job.",
        {200: JobAnswer, **_BODY_ERRORS, **errors(404, 409, 429, 500, 503, 504, 507)},
        body=GenerationBody,
        headers=_RETRY_AFTER,
    ),
    ("POST", "/jobs"): Operation(
        "Queue a job: 202 with its place in the queue.",
        {202: JobAnswer, **_BODY_ERRORS, **errors(404, 429, 503, 507)},
        body=GenerationBody,
        headers={202: {"Location": "The job's URL."}, **_RETRY_AFTER},
    ),
    ("GET", "/jobs"): Operation("Recent jobs, newest first.", {200: JobList}),
    ("GET", "/jobs/{job_id}"): Operation("One job.", {200: JobAnswer, **errors(404)}),
    ("DELETE", "/jobs/{job_id}"): Operation(
        "Cancel a job: queued ones go at once, a running one within a step.",
        {200: JobAnswer, **errors(404, 409)},
    ),
    ("GET", "/jobs/{job_id}/events"): Operation(
        "A job's progress as Server-Sent Events, until it ends.",
        {
            200: Media("text/event-stream", "queued, started, progress, preview, then the end."),
            **errors(404, 429),
        },
        headers=_RETRY_AFTER,
    ),
    ("GET", "/images"): Operation(
        "Past images, newest first, a page at a time.",
        {200: ImagePage, **errors(404, 422)},
        query=ImagesQuery,
    ),
    ("GET", "/images/{job_id}.json"): Operation(
        "One past job's record.", {200: JobAnswer, **errors(404)}
    ),
    ("DELETE", "/images/{name}"): Operation(
        "Delete a finished job's images and record; `name` is the job id.",
        {200: DeletedImages, **errors(404, 409)},
    ),
    ("GET", "/images/{name}"): Operation(
        "One image by file name; byte ranges are served.",
        {200: _PNG, 206: _PNG, **errors(404, 416)},
    ),
    ("POST", "/uploads"): Operation(
        "Upload an input image (PNG, JPEG or WEBP, one still frame): 201 with its id.",
        {
            201: UploadAnswer,
            **errors(400, 408, 413, 415, 422, 507),
        },
        headers={201: {"Location": "The stored PNG's URL."}},
        body_media=_UPLOAD_BODY,
    ),
    ("GET", "/uploads"): Operation(
        "This client's uploads (an admin's: all), newest first.", {200: UploadList}
    ),
    ("GET", "/uploads/{name}"): Operation(
        "One upload's PNG; `name` is `<upload id>.png`. Byte ranges are served.",
        {200: _UPLOAD_PNG, 206: _UPLOAD_PNG, **errors(404, 416)},
    ),
    ("DELETE", "/uploads/{name}"): Operation(
        "Delete an upload; `name` is the upload id. Jobs already accepted keep no copy.",
        {204: None, **errors(404)},
    ),
    ("GET", "/health"): Operation(
        "The service's state, device, queue and limits.", {200: HealthAnswer}
    ),
    ("GET", "/health/live"): Operation(
        "Liveness: the process answers.", {200: LiveAnswer}, public=True
    ),
    ("GET", "/health/ready"): Operation(
        "Readiness: 200 when it can generate now, 503 otherwise.",
        {200: ReadyAnswer, 503: ReadyAnswer},
        public=True,
    ),
    ("GET", "/session"): Operation(
        "Whether a key is needed and whether this browser is signed in.",
        {200: SessionState},
        public=True,
    ),
    ("POST", "/session"): Operation(
        "Sign in: a key for an HttpOnly session cookie.",
        {204: None, **_BODY_ERRORS, **errors(401, 429)},
        body=SessionKey,
        public=True,
        headers=_RETRY_AFTER,
    ),
    ("DELETE", "/session"): Operation("Sign out.", {204: None}, public=True),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics.", {200: Media("text/plain", "The Prometheus text format.")}
    ),
    ("GET", "/openapi.json"): Operation(
        "This document.", {200: Media("application/json", "OpenAPI 3.1.")}
    ),
    ("GET", "/static/{path}"): Operation(
        "The UI's scripts, styles and images; byte ranges are served.",
        {200: Media("*/*", "The file."), 206: Media("*/*", "Part of it."), **errors(404, 416)},
        public=True,
    ),
}
