"""The API's shapes as pydantic models: what handlers validate with, and what
`/openapi.json` publishes, so the two cannot drift apart.

Request models take their bounds from the domain (`field_bounds`, `SCHEDULERS`); the
domain still checks its own rules when the request is built, for every other entry point.
The edit fields and input-image shapes are in `image_reference_models`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from domain.generation_request import DEFAULT_GUIDANCE, DEFAULT_STEPS, SCHEDULERS
from domain.input_image import EditMode
from domain.job import JobErrorType, JobStatus
from domain.output_size import DEFAULT_SIZE
from entrypoints.field_bounds import STRICT_BODY, Integral, bounded_text, ranged
from entrypoints.image_reference_models import EditFields, InputImageInfo

DEFAULT_PAGE, MAX_PAGE = 24, 100
# One character str.strip() keeps, spelled out: `\S` disagrees with it on \x1c-\x1f, \x85
# and \ufeff, and the published schema must take exactly what the domain takes. The same
# in Python's re and in the JSON Schema validators clients use.
NOT_ONLY_SPACE = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class _TextFields(BaseModel):
    """The fields every request has (text-to-image's)."""

    model_config = STRICT_BODY

    prompt: Annotated[
        str,
        bounded_text(
            "prompt", "What to draw; not only whitespace.", min_length=1, pattern=NOT_ONLY_SPACE
        ),
    ]
    negative_prompt: Annotated[str, bounded_text("negative_prompt", "What to keep out.")] | None = (
        None
    )
    num_inference_steps: Annotated[int, ranged("num_inference_steps"), Integral] = Field(
        DEFAULT_STEPS, description="Denoising steps; a few-step model's own default if left out."
    )
    guidance_scale: Annotated[float, ranged("guidance_scale")] = Field(
        DEFAULT_GUIDANCE, description="How closely to follow the prompt; the model's if left out."
    )
    width: Annotated[int, ranged("width"), Integral] = DEFAULT_SIZE
    height: Annotated[int, ranged("height"), Integral] = DEFAULT_SIZE
    seed: Annotated[int, ranged("seed"), Integral] | None = Field(
        None, description="null: the service picks one and reports it."
    )
    scheduler: Literal[SCHEDULERS] | None = Field(  # type: ignore[valid-type]
        None, description="null: the model's own; /health lists what the engine offers."
    )
    num_images: Annotated[int, ranged("num_images"), Integral] = Field(
        1, description="Images in one job, with seeds seed, seed+1, ..."
    )


class GenerationBody(EditFields, _TextFields):
    """The body of `POST /image` and `POST /jobs`. Strict: a boolean is not a number,
    `"20"` is not 20, NaN and infinity are not numbers, and unknown fields are refused."""

    model_config = STRICT_BODY


def _ascii_integer(value: object) -> object:
    """A query's integer as ASCII digits only: `int()` also takes `²`-like digits, `1_0`
    and thousands of digits, none of which a client means."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,9}", value):
        return None  # refused below as "not an integer", with the field's bounds
    return int(value) if isinstance(value, str) else value


class ImagesQuery(BaseModel):
    """The query of `GET /images`: a page of past images, newest first."""

    model_config = ConfigDict(extra="ignore")

    limit: Annotated[
        int,
        Field(ge=1, le=MAX_PAGE, description="Records in one page."),
        BeforeValidator(_ascii_integer),
    ] = DEFAULT_PAGE
    before: str | None = Field(
        None, max_length=128, description="A job id from next_before: the page after it."
    )


class _Answer(BaseModel):
    """A response body: exactly these fields, so the contract tests notice any drift."""

    model_config = ConfigDict(extra="forbid")


class GenerationParams(_Answer):
    """The validated request as it ran, with the seed used: posting it again reproduces it."""

    prompt: str
    negative_prompt: str | None
    num_inference_steps: int
    guidance_scale: float
    width: int
    height: int
    seed: int | None
    scheduler: str | None
    num_images: int
    init_image: InputImageInfo | None
    strength: float
    mask_image: InputImageInfo | None
    mask_blur: int
    invert_mask: bool
    resize_mode: str


class Progress(_Answer):
    step: int
    total: int


class ImageLink(_Answer):
    url: str
    seed: int
    width: int
    height: int
    nsfw: bool | None = Field(
        description="true: the safety checker flagged this image, and the stored image is "
        "covered (blurred or a placeholder, per SAFETY_ACTION); null: no checker judged it."
    )


class JobErrorInfo(_Answer):
    type: Literal[tuple(kind.value for kind in JobErrorType)]  # type: ignore[valid-type]
    message: str


class JobUrls(_Answer):
    self_url: str = Field(alias="self")
    events: str


class JobAnswer(_Answer):
    """A job, waiting, running or finished."""

    job_id: str
    status: Literal[tuple(status.value for status in JobStatus)]  # type: ignore[valid-type]
    queue_position: int | None = Field(description="1 is next; null once it runs.")
    progress: Progress
    eta_seconds: float | None
    provider: str | None
    device: str | None
    mock: bool
    seed: int
    mode: Literal[tuple(mode.value for mode in EditMode)]  # type: ignore[valid-type]
    params: GenerationParams
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    started_at: str | None = Field(json_schema_extra={"format": "date-time"})
    completed_at: str | None = Field(json_schema_extra={"format": "date-time"})
    duration_ms: int | None
    image_url: str | None
    images: list[ImageLink]
    error: JobErrorInfo | None
    urls: JobUrls


class JobList(_Answer):
    jobs: list[JobAnswer]


class ImagePage(_Answer):
    images: list[JobAnswer]
    next_before: str | None = Field(description="`before` for the next page; null at the end.")


class DeletedImages(_Answer):
    deleted: str
    images: list[str]


class HealthAnswer(BaseModel):
    """The service's state; the fields a client can rely on (more may appear)."""

    status: str
    mock: bool
    queue: dict[str, int]
    schedulers: list[dict[str, str]]
    request_bounds: dict[str, dict[str, float]]
    version: str


class LiveAnswer(_Answer):
    status: Literal["alive"]


class FieldDetail(_Answer):
    field: str
    message: str


class ErrorInfo(_Answer):
    type: str = Field(description="Stable, for code: validation_error, queue_full, ...")
    message: str = Field(description="For people: what happened and what to do.")
    details: list[FieldDetail]
    request_id: str | None = Field(description="Also in X-Request-ID and in every log line.")


class ErrorAnswer(_Answer):
    """The one shape of every error."""

    error: ErrorInfo


class ReadyAnswer(BaseModel):
    """`/health/ready`: the full health to a signed-in client, the status alone otherwise."""

    status: str


class SessionKey(_Answer):
    """The body of `POST /session`."""

    key: str = Field(
        min_length=1, max_length=512, description="An API key; answered with a session cookie."
    )


class SessionState(_Answer):
    auth_required: bool
    signed_in: bool
    client: str | None
