"""Pictures the compat tests send and read back."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_of(image: Image.Image) -> bytes:
    with io.BytesIO() as buffer:
        image.save(buffer, format="PNG")
        return buffer.getvalue()


def b64_png_of(image: Image.Image) -> str:
    return base64.b64encode(png_of(image)).decode("ascii")


def png_from_bytes(data: bytes) -> Image.Image:
    """The PNG in ``data``, loaded; anything but a PNG fails the test."""
    assert data.startswith(PNG_SIGNATURE), data[:16]
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def decoded_png(b64: str) -> Image.Image:
    """A base64 PNG as both APIs answer it: raw base64, no `data:` prefix."""
    return png_from_bytes(base64.b64decode(b64, validate=True))


def striped_picture(width: int, height: int) -> Image.Image:
    """An input with structure: the left half red, the right half blue."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (width // 2, 0, width, height))
    return image


def differing_pixels(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels inside ``box`` differ between ``a`` and ``b``."""
    left = np.asarray(a.convert("RGB").crop(box), dtype=np.int16)
    right = np.asarray(b.convert("RGB").crop(box), dtype=np.int16)
    return int(np.count_nonzero((left != right).any(axis=-1)))
