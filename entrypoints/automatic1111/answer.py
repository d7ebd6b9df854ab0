"""Our finished jobs, answered as AUTOMATIC1111's txt2img and img2img answer:
`{"images": [base64 PNG], "parameters": {the request}, "info": "<a JSON string>"}`.

The images are the very bytes of the gallery's files, and `info`'s `infotexts` the
`parameters` text those PNGs carry, read back from them. `info.prompt` is the prompt as
sent; `all_prompts`, like the infotexts, what was encoded (extra-network tags removed).
Besides A1111's keys `info` has our own `warnings` (what was ignored or changed) and
`job_ids` (the jobs in our queue and gallery), and, when a safety checker judged the
images, `nsfw`: one flag per image, in order (true: flagged, and the image sent is the
covered one, the only one stored). A1111 has no such key; without a checker it is absent.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from application.image_metadata import PARAMETERS_KEY
from domain.job import Job
from entrypoints.automatic1111.job_timestamp import job_timestamp
from entrypoints.automatic1111.request_models import (
    A1111_DEFAULTS_IMG2IMG,
    A1111_DEFAULTS_TXT2IMG,
    Img2ImgBody,
    Txt2ImgBody,
)

VERSION = "local-sd"


@dataclass(frozen=True)
class MadeImage:
    png: bytes
    infotext: str
    seed: int
    nsfw: bool | None = None
    """The safety checker's verdict (None: no checker judged it)."""


def read_made_image(path: Path, seed: int, nsfw: bool | None = None) -> MadeImage:
    """A gallery PNG and the `parameters` text in it (blocking: run off the event loop)."""
    png = path.read_bytes()
    with Image.open(io.BytesIO(png)) as picture:
        # Our text chunks precede the pixels: `info` has them without decoding the image.
        infotext = picture.info.get(PARAMETERS_KEY, "")
    return MadeImage(png, infotext if isinstance(infotext, str) else "", seed, nsfw)


@dataclass(frozen=True)
class CallRecord:
    """What the answer is made of."""

    body: Mapping[str, Any]
    """The request body as received."""
    parsed: Txt2ImgBody
    jobs: Sequence[Job]
    """Every job of the call (at least one), in order."""
    images: Sequence[MadeImage]
    sampler_name: str
    model_name: str
    warnings: Sequence[str]
    model_hash: str | None = None
    """The served model's short hash (`ServedModel.hash`), as sd-models lists it."""


def a1111_answer_json(record: CallRecord) -> bytes:
    """The answer as JSON bytes (blocking: a body may echo megabytes of parameters)."""
    return json.dumps(
        a1111_answer(record), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


def a1111_answer(record: CallRecord) -> dict[str, Any]:
    send_images = record.parsed.send_images is not False
    return {
        "images": [base64.b64encode(image.png).decode("ascii") for image in record.images]
        if send_images
        else [],
        "parameters": _parameters(record),
        "info": json.dumps(_json_safe(_info(record)), allow_nan=False),
    }


def _parameters(record: CallRecord) -> dict[str, Any]:
    """The body as received, with A1111's defaults for the fields it left out; steps and
    cfg_scale left out show what ran (the served model's defaults, not A1111's)."""
    img2img = isinstance(record.parsed, Img2ImgBody)
    defaults = A1111_DEFAULTS_IMG2IMG if img2img else A1111_DEFAULTS_TXT2IMG
    ran = record.jobs[0].request
    parameters = {
        **defaults,
        "steps": ran.num_inference_steps,
        "cfg_scale": ran.guidance_scale,
        # A1111 echoes its request model: the fields it knows, not whatever else was sent.
        **{name: value for name, value in record.body.items() if name in defaults},
    }
    if img2img and parameters.get("include_init_images") is not True:
        # A1111 does not send the input images back unless asked to.
        parameters["init_images"] = None
        parameters["mask"] = None
    safe: dict[str, Any] = _json_safe(parameters)
    return safe


ECHO_MAX_CHARS = 16_000
"""The longest text echoed back: an img2img body may hold tens of megabytes of text in a
field we do not read, which A1111 would send back whole, twice."""


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as null (Python's JSON reader takes them in a
    field we do not read, but JSON has no such numbers to answer them with), and texts
    cut at ECHO_MAX_CHARS."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and len(value) > ECHO_MAX_CHARS:
        return value[:ECHO_MAX_CHARS]
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


def _info(record: CallRecord) -> dict[str, Any]:
    info = _a1111_info(record)
    if any(image.nsfw is not None for image in record.images):
        info["nsfw"] = [image.nsfw is True for image in record.images]
    return info


def _a1111_info(record: CallRecord) -> dict[str, Any]:
    parsed, first = record.parsed, record.jobs[0]
    ran = first.request
    count = len(record.images)
    seeds = [image.seed for image in record.images]
    subseed = parsed.subseed if parsed.subseed is not None and parsed.subseed >= 0 else -1
    return {
        "prompt": parsed.prompt or "",
        "all_prompts": [ran.prompt] * count,
        "negative_prompt": parsed.negative_prompt or "",
        "all_negative_prompts": [ran.negative_prompt or ""] * count,
        "seed": seeds[0] if seeds else first.seed,
        "all_seeds": seeds,
        "subseed": subseed,
        "all_subseeds": [subseed] * count,
        "subseed_strength": parsed.subseed_strength or 0,
        "width": ran.width,
        "height": ran.height,
        "sampler_name": record.sampler_name,
        "cfg_scale": ran.guidance_scale,
        "steps": ran.num_inference_steps,
        "batch_size": parsed.batch_size or 1,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": record.model_name,
        "sd_model_hash": record.model_hash,
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": ran.strength if ran.init_image is not None else None,
        "extra_generation_params": {},
        "index_of_first_image": 0,
        "infotexts": [image.infotext for image in record.images],
        "styles": [],
        "job_timestamp": job_timestamp(record.jobs[0]),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": VERSION,
        "warnings": list(record.warnings),
        "job_ids": [job.id for job in record.jobs],
    }
