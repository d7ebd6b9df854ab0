"""The foreign APIs' fuzz cases (tests/foreign/test_foreign_fuzz.py): hostile values, the
routes with their valid base bodies and their fields, hostile files and envelopes.

The field lists are read from the request models and the OpenAI call's extras, so a field
added there is fuzzed without touching this table.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any, NamedTuple

from PIL import Image

from entrypoints.automatic1111.request_models import (
    A1111_DEFAULTS_IMG2IMG,
    A1111_DEFAULTS_TXT2IMG,
    Img2ImgBody,
    Txt2ImgBody,
)
from entrypoints.openai_images.edit_form import MAX_TEXT_FIELD_BYTES
from entrypoints.openai_images.images_call import EDIT_EXTRAS, GENERATION_EXTRAS

JSON = "application/json"
Value = str | bytes
"""A JSON value's raw text, or a form field's text or bytes."""
Part = tuple[str, tuple[str | None, bytes, str | None]]
"""A multipart part as the test client takes it: (name, (filename or None for text, data, type))."""


def _png(size: int = 8) -> bytes:
    with io.BytesIO() as buffer:
        Image.new("RGB", (size, size), (200, 30, 10)).save(buffer, format="PNG")
        return buffer.getvalue()


TINY_PNG = _png()
TINY_PNG_B64 = base64.b64encode(TINY_PNG).decode()
SIZE = 64  # our smallest image: a valid body runs in milliseconds on the mock

# Each hostile value as the raw JSON text that carries it (1e309, NaN and Infinity are
# what json.dumps will not write, but Python's parser reads).
HOSTILE: dict[str, str] = {
    "null": "null",
    "true": "true",
    "-1": "-1",
    "0": "0",
    "2**63": str(2**63),
    "-2**63": str(-(2**63)),
    "1e309": "1e309",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "1.5": "1.5",
    "empty string": '""',
    "blank string": '" "',
    "5000 x": json.dumps("x" * 5000),
    "numeric string": '"20"',
    "[]": "[]",
    "[1]": "[1]",
    "{}": "{}",
    '{"a": 1}': '{"a": 1}',
    "30-deep list": "[" * 30 + "]" * 30,
    "bad data URL": '"data:image/png;base64,!!!"',
}
IMAGE_VALUES: dict[str, str] = {
    "tiny PNG": json.dumps(TINY_PNG_B64),
    "[tiny PNG]": json.dumps([TINY_PNG_B64]),
    "tiny PNG data URL": json.dumps(f"data:image/png;base64,{TINY_PNG_B64}"),
}
IMAGE_FIELD_NAMES = ("init_images", "mask", "image")
WHOLE_BODIES: dict[str, tuple[str, bytes]] = {
    "[]": ("application/json", b"[]"),
    '"x"': ("application/json", b'"x"'),
    "1": ("application/json", b"1"),
    "null": ("application/json", b"null"),
    "empty body": ("application/json", b""),
    "invalid JSON": ("application/json", b'{"prompt": '),
    "not UTF-8": ("application/json", b'{"prompt": "\xff\xfe"}'),
    "lone surrogate": ("application/json", b'{"prompt": "\\ud800"}'),
    "text/plain": ("text/plain", b'{"prompt": "a cat"}'),
    "urlencoded form": ("application/x-www-form-urlencoded", b"prompt=a+cat"),
    "no content-type": ("", b'{"prompt": "a cat"}'),
}

A1111_BASE = {"prompt": "a cat", "steps": 1, "width": SIZE, "height": SIZE}
# OpenAI's own fields, and those it has that we ignore; our extras come from images_call.
OPENAI_FIELDS = ("prompt", "model", "n", "size", "response_format", "stream")
OPENAI_IGNORED = (
    "quality",
    "style",
    "user",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "partial_images",
)


def _names(*sources: Any) -> list[str]:
    """The keys of ``sources``, once each, in order."""
    names: dict[str, None] = {}
    for source in sources:
        names.update(dict.fromkeys(source))
    return list(names)


def _read_by(model: type[Txt2ImgBody]) -> list[str]:
    """The fields ``model`` reads (typed); its `Any` ones are only echoed and warned of."""
    return [name for name, info in model.model_fields.items() if info.annotation is not Any]


def _ignored_by(model: type[Txt2ImgBody], defaults: dict[str, Any]) -> list[str]:
    read = _read_by(model)
    return [name for name in _names(model.model_fields, defaults) if name not in read]


class Route(NamedTuple):
    base: dict[str, Any]
    """A valid body."""
    read: list[str]
    """Fields the route reads: each replaced alone by each value."""
    ignored: list[str]
    """Fields taken and ignored (echoed, perhaps warned of): replaced all at once by each
    value, then one by one if that answer is wrong or a refusal (to name the field)."""


JSON_ROUTES: dict[str, Route] = {
    "/sdapi/v1/txt2img": Route(
        A1111_BASE,
        _read_by(Txt2ImgBody),
        _ignored_by(Txt2ImgBody, A1111_DEFAULTS_TXT2IMG),
    ),
    "/sdapi/v1/img2img": Route(
        {**A1111_BASE, "init_images": [TINY_PNG_B64]},
        _read_by(Img2ImgBody),
        _ignored_by(Img2ImgBody, A1111_DEFAULTS_IMG2IMG),
    ),
    "/sdapi/v1/png-info": Route({"image": TINY_PNG_B64}, ["image"], []),
    "/sdapi/v1/options": Route(
        {"samples_format": "png"},
        ["sd_model_checkpoint"],
        ["samples_format", "CLIP_stop_at_last_layers", "sd_vae"],
    ),
    **{
        f"/sdapi/v1/{name}": Route({}, [], ["anything"])
        for name in ("interrupt", "skip", "refresh-checkpoints", "refresh-vae", "refresh-loras")
    },
    "/v1/images/generations": Route(
        {"prompt": "a cat", "size": f"{SIZE}x{SIZE}", "num_inference_steps": 1},
        _names(OPENAI_FIELDS, GENERATION_EXTRAS),
        list(OPENAI_IGNORED),
    ),
}
EDITS = "/v1/images/edits"
EDIT_READ_FIELDS = _names(OPENAI_FIELDS, EDIT_EXTRAS)
EDIT_BASE = {"prompt": "a cat", "size": f"{SIZE}x{SIZE}", "num_inference_steps": "1"}
HOSTILE_FILES: dict[str, bytes] = {
    "empty file": b"",
    "text": b"not an image at all",
    "truncated PNG": TINY_PNG[: len(TINY_PNG) // 2],
    "PNG signature only": TINY_PNG[:8],
    "JPEG header only": b"\xff\xd8\xff\xe0" + b"\0" * 16,
    "base64 of a PNG": TINY_PNG_B64.encode(),
    "tiny PNG": TINY_PNG,
}


def as_form_text(raw: str) -> str:
    """A hostile JSON value as a form field's text: strings unquoted, the rest as written."""
    return str(json.loads(raw)) if raw.startswith('"') else raw


EDIT_TEXT_VALUES: dict[str, Value] = {
    **{name: as_form_text(raw) for name, raw in HOSTILE.items()},
    "over the text limit": "7" * (MAX_TEXT_FIELD_BYTES + 1),
    "not UTF-8": b"\xff\xfe\xfd",
    "NUL": "1\x00",
    "full-width digits": "\uff12\uff10",
}
