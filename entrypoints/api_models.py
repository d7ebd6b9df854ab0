"""The API's shapes as pydantic models: what handlers validate with, and what
`/openapi.json` publishes, so the two cannot drift apart.

Request models take their bounds from the domain (`request_bounds`, `SCHEDULERS`); the
domain still checks its own rules when the request is built, for every other entry point.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.generation_request import (
    DEFAULT_GUIDANCE,
    DEFAULT_MASK_BLUR,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    DEFAULT_STRENGTH,
    SCHEDULERS,
    request_bounds,
)
from domain.input_image import DEFAULT_RESIZE_MODE, RESIZE_MODES, EditMode
from domain.job import JobErrorType, JobStatus
from entrypoints.image_reference_models import REFERENCE_RULE, ImageReference, InputImageInfo

_BOUNDS = request_bounds()
DEFAULT_PAGE, MAX_PAGE = 24, 100


def _range(name: str) -> Any:
    bounds = _BOUNDS[name]
    return Field(ge=bounds["min"], le=bounds["max"], multiple_of=bounds.get("multiple_of"))


def _integral(value: object) -> object:
    """JSON has one number type and JSON Schema's "integer" is any number without a
    fraction, so `2.0` is the integer 2 the published schema promises to take; `2.5`,
    `true` and `"2"` stay refused by the strict check after this."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)


def _text(name: str, description: str, **extra: Any) -> Any:
    max_chars = int(_BOUNDS[name]["max_chars"])
    return Field(max_length=max_chars, description=description, **extra)


class GenerationBody(BaseModel):
    """The body of `POST /image` and `POST /jobs`. Strict: a boolean is not a number,
    `"20"` is not 20, NaN and infinity are not numbers, and unknown fields are refused."""

    # python-re: `\S` must mean what str.strip() trims, as the domain trims the prompt.
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, regex_engine="python-re"
    )

    prompt: Annotated[
        str, _text("prompt", "What to draw; not only whitespace.", min_length=1, pattern=r"\S")
    ]
    negative_prompt: Annotated[str, _text("negative_prompt", "What to keep out.")] | None = None
    num_inference_steps: Annotated[int, _range("num_inference_steps"), Integral] = Field(
        DEFAULT_STEPS, description="Denoising steps; a few-step model's own default if left out."
    )
    guidance_scale: Annotated[float, _range("guidance_scale")] = Field(
        DEFAULT_GUIDANCE, description="How closely to follow the prompt; the model's if left out."
    )
    width: Annotated[int, _range("width"), Integral] = DEFAULT_SIZE
    height: Annotated[int, _range("height"), Integral] = DEFAULT_SIZE
    seed: Annotated[int, _range("seed"), Integral] | None = Field(
        None, description="null: the service picks one and reports it."
    )
    scheduler: Literal[SCHEDULERS] | None = Field(  # type: ignore[valid-type]
        None, description="null: the model's own; /health lists what the engine offers."
    )
    num_images: Annotated[int, _range("num_images"), Integral] = Field(
        1, description="Images in one job, with seeds seed, seed+1, ..."
    )
    init_image: ImageReference | None = Field(
        None,
        description="The image to start from (image-to-image); width and height left out "
        "follow its shape.",
    )
    strength: Annotated[float, _range("strength")] = Field(
        DEFAULT_STRENGTH,
        description="How far from init_image to go: 0 keeps it, 1 ignores it; "
        "about steps x strength steps run.",
    )
    mask_image: ImageReference | None = Field(
        None, description="Inpainting: white repaints, black keeps; the init_image's size."
    )
    mask_blur: Annotated[int, _range("mask_blur"), Integral] = Field(
        DEFAULT_MASK_BLUR, description="Pixels of blur on the mask's edge."
    )
    invert_mask: bool = Field(False, description="Repaint the black part instead.")
    resize_mode: Literal[RESIZE_MODES] = Field(  # type: ignore[valid-type]
        DEFAULT_RESIZE_MODE,
        description="An input of another shape than the output: fill (crop), fit "
        "(inside, edges extended) or stretch.",
    )

    @field_validator("init_image", "mask_image", mode="wrap")
    @classmethod
    def _one_reference(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        """One sentence for a bad reference, instead of one per alternative of the union."""
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("image_reference", REFERENCE_RULE) from None


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
