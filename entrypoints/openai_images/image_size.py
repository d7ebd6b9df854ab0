"""OpenAI's `size` ("1024x1024", "1792x1024", "auto") as our width and height.

OpenAI's models take a few fixed sizes; ours takes 64 to 1024 pixels a side in multiples
of 8. Any "WxH" is therefore taken as a shape: scaled down to fit within 1024 (and up to
64 where a side is shorter), keeping its aspect, then each side rounded to a multiple of
8 — the fitting an edit's input image gets (`domain.output_size`). "1792x1024" gives
1024x584, "256x256" stays 256x256.
"""

from __future__ import annotations

import re

from domain.errors import FieldError, InvalidRequest
from domain.output_size import output_size

_SIZE = re.compile(r"([1-9][0-9]{0,5})[xX]([1-9][0-9]{0,5})", re.ASCII)
SIZE_RULE = 'Must be "auto" or WIDTHxHEIGHT in pixels, such as "512x512" or "1792x1024".'


def fitted_size(size: object) -> tuple[int, int] | None:
    """Our width and height for OpenAI's ``size``; None for "auto" or no size (the served
    model's default, or an edit's input's own shape)."""
    if size is None or size == "auto":
        return None
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    if match is None:
        raise InvalidRequest([FieldError("size", SIZE_RULE)])
    return output_size(int(match[1]), int(match[2]))
