"""The multipart form of `POST /v1/images/edits` as fields: the image, the mask, and the
text fields, with numbers read as numbers.

The image comes as `image` or `image[]` (the newer API takes several, as references): the
first is edited, the others are ignored. Text fields are UTF-8, each at most
MAX_TEXT_FIELD_BYTES; a field sent twice counts once (the first). A number that does not
read as one is kept as text, for the body's check to name its field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from domain.errors import FieldError, InvalidRequest
from entrypoints.upload_body import FormPart

IMAGE_FIELDS = ("image", "image[]")
MAX_TEXT_FIELD_BYTES = 64 * 1024
_INTEGER_FIELDS = ("n", "num_inference_steps", "seed", "mask_blur")
_NUMBER_FIELDS = ("guidance_scale", "strength")
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}", re.ASCII)
_NUMBER = re.compile(
    r"[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([eE][+-]?[0-9]{1,3})?", re.ASCII
)


@dataclass
class EditForm:
    image: bytes | None = None
    mask: bytes | None = None
    values: dict[str, Any] = field(default_factory=dict)
    """The text fields by name, numbers and booleans read."""


def edit_form(parts: list[FormPart]) -> EditForm:
    form = EditForm()
    for part in parts:
        if part.name in IMAGE_FIELDS:
            form.image = _file(part) if form.image is None else form.image
        elif part.name == "mask":
            form.mask = _file(part) if form.mask is None else form.mask
        elif part.name is not None and part.name not in form.values:
            form.values[part.name] = _value(part.name, _text(part))
    return form


def _file(part: FormPart) -> bytes:
    if not part.data:
        field_name = "mask" if part.name == "mask" else "image"
        raise InvalidRequest([FieldError(field_name, "The file is empty (0 bytes).")])
    return part.data


def _text(part: FormPart) -> str:
    name = str(part.name)
    if len(part.data) > MAX_TEXT_FIELD_BYTES:
        message = f"Must be at most {MAX_TEXT_FIELD_BYTES // 1024} KiB."
        raise InvalidRequest([FieldError(name, message)])
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest([FieldError(name, "Must be UTF-8 text.")]) from None


def _value(name: str, text: str) -> object:
    """A form's text as the JSON value it stands for, where the field is a number or a
    boolean; otherwise the text."""
    stripped = text.strip()
    if name in _INTEGER_FIELDS and _INTEGER.fullmatch(stripped):
        return int(stripped)
    if name in _NUMBER_FIELDS and _NUMBER.fullmatch(stripped):
        number = float(stripped)
        return number if math.isfinite(number) else text
    if name == "stream" and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    return text
