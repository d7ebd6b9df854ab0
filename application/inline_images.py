"""An image given inline, as the text of a JSON field: base64, or a ``data:`` URL holding
it. One decoder for every route that takes one (our requests' `init_image`, A1111's
`init_images` and `png-info`), so all of them accept and refuse the same texts alike."""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidImage


def decode_inline_image(field: str, text: str, max_bytes: int) -> bytes:
    """The bytes ``text`` holds. Raises InvalidImage on ``field``: too_large past
    ``max_bytes`` (checked before decoding anything), else for text that is not base64."""
    payload = text
    if text[:5].lower() == "data:":
        header, comma, payload = text.partition(",")
        if not comma or ";base64" not in header.lower():
            raise InvalidImage(field, "A data: URL must hold base64 (data:image/png;base64,...).")
    # MIME base64 wraps its lines; some clients drop the padding.
    compact = "".join(payload.split())
    if len(compact.rstrip("=")) * 3 // 4 > max_bytes:  # the decoded size
        limit_mb = max_bytes / 2**20
        raise InvalidImage(
            field, f"The image is larger than the {limit_mb:g} MB upload limit.", too_large=True
        )
    # validate=True refuses any character outside the alphabet (a set check first held
    # the GIL for a second on a large image); ValueError: a non-ASCII one.
    try:
        if compact:
            return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        pass
    raise InvalidImage(field, "Not base64 image data, nor a data: URL holding it.")
