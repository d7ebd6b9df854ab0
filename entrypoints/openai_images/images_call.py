"""An OpenAI images request's fields as ours: what `generations` and `edits` share.

OpenAI's own fields (`n`, `size`, `response_format`, `stream`, `model`) are read here;
the ones with no counterpart (`quality`, `style`, `user`, `background`, `output_format`,
`output_compression`, `moderation`, `partial_images`, and any other) are accepted and
ignored. Our own fields a client adds (Open WebUI lets its admins merge extra parameters
into the body) are honoured: `negative_prompt`, `num_inference_steps`, `guidance_scale`,
`seed`, `scheduler`, and for edits `strength`, `mask_blur`, `resize_mode`. They are
checked as our API checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import FieldError, InvalidRequest
from entrypoints.long_prompts import within_prompt_limit
from entrypoints.openai_images.image_size import fitted_size

MAX_IMAGES = 10
"""OpenAI's bound on `n`."""
RESPONSE_FORMATS = ("b64_json", "url")
GENERATION_EXTRAS = (
    "negative_prompt",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "scheduler",
)
EDIT_EXTRAS = (*GENERATION_EXTRAS, "strength", "mask_blur", "resize_mode")


@dataclass(frozen=True)
class ImagesCall:
    fields: dict[str, Any]
    """Our API's fields (`GenerationBody`'s names), without `num_images`."""
    n: int
    response_format: str


def images_call(values: Mapping[str, Any], extras: tuple[str, ...]) -> ImagesCall:
    """``values`` (a JSON body's, or a form's fields) as our fields; InvalidRequest naming
    OpenAI's fields that are wrong. The prompt and the extras are checked with our body."""
    errors: list[FieldError] = []
    n = _n(values.get("n"), errors)
    response_format = values.get("response_format")
    if response_format is None:
        response_format = "b64_json"
    if response_format not in RESPONSE_FORMATS:
        errors.append(FieldError("response_format", 'Must be "b64_json" or "url".'))
    if values.get("stream") not in (None, False):
        errors.append(FieldError("stream", "Streaming is not supported: leave stream false."))
    if not isinstance(values.get("model", ""), (str, type(None))):
        errors.append(FieldError("model", "Must be a string (any name: the served model runs)."))
    fields = {name: values[name] for name in ("prompt", *extras) if values.get(name) is not None}
    for name in ("prompt", "negative_prompt"):
        if isinstance(fields.get(name), str):
            # OpenAI takes thousands of characters; past ours the encoder reads nothing.
            fields[name] = within_prompt_limit(fields[name])[0]
    try:
        size = fitted_size(values.get("size"))
    except InvalidRequest as error:
        errors.extend(error.details)
        size = None
    if errors:
        raise InvalidRequest(errors)
    if size is not None:
        fields["width"], fields["height"] = size
    return ImagesCall(fields, n, str(response_format))


def _n(value: object, errors: list[FieldError]) -> int:
    if value is None:
        return 1
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 2.0 is the integer 2
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_IMAGES:
        return value
    errors.append(FieldError("n", f"Must be an integer from 1 to {MAX_IMAGES}."))
    return 1
