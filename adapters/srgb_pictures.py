"""What a decoded upload becomes: upright, 8-bit sRGB, RGBA only when transparent.

EXIF orientation applied, every mode converted, and colour profiles converted to sRGB,
which is what the model was trained on (see ``adapters.upload_decoding`` for why
transparency is kept).
"""

from __future__ import annotations

import contextlib
import io
import struct

import numpy as np
from PIL import Image, ImageCms, ImageOps

# What Pillow raises on damaged metadata (see ``adapters.upload_decoding``).
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)


def upright_srgb(image: Image.Image) -> Image.Image:
    """The loaded ``image`` turned upright and converted: RGB, or RGBA when some pixel is
    not opaque."""
    return _srgb_keeping_alpha(_upright(image))


def _upright(image: Image.Image) -> Image.Image:
    # A damaged EXIF block is metadata only: the pixels are still the picture.
    with contextlib.suppress(*_DAMAGED):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def _srgb_keeping_alpha(image: Image.Image) -> Image.Image:
    """RGBA when the alpha channel has a pixel below 255, else RGB: an opaque alpha
    channel says nothing, and dropping it keeps such an image's mask its luminance."""
    image = _eight_bit(image)
    image = _in_srgb(image)
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() != (255, 255):
        return _as_mode(image, "RGBA")
    return _as_mode(image, "RGB")


def _as_mode(image: Image.Image, mode: str) -> Image.Image:
    # convert() to the same mode copies: an 8192 x 8192 RGBA picture is 256 MB more.
    return image if image.mode == mode else image.convert(mode)


def _eight_bit(image: Image.Image) -> Image.Image:
    """RGB, RGBA, L, LA or CMYK, keeping transparency wherever the file had some."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return _grey_from_wide(image)
    if mode in ("P", "PA", "RGBa", "La"):
        has_alpha = mode != "P" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in ("RGB", "L") and "transparency" in image.info:
        return image.convert("RGBA" if mode == "RGB" else "LA")  # a tRNS colour
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    return image.convert("RGB")  # 1, YCbCr, LAB, HSV


def _grey_from_wide(image: Image.Image) -> Image.Image:
    # Pillow's own convert("L") clips 16-bit values at 255 instead of scaling them, which
    # turns a 16-bit grey PNG almost white: scale instead. "I" is how older Pillow read
    # 16-bit PNGs; "F" has no range of its own and is clipped, as Pillow does.
    values = np.asarray(image)
    if image.mode == "F":
        grey = np.clip(values, 0, 255).astype(np.uint8)
    elif values.dtype.itemsize == 2 and values.dtype.kind == "u":
        grey = (values >> 8).astype(np.uint8)  # 16-bit: no wider copy
    else:
        grey = (np.clip(values, 0, 65535).astype(np.uint32) >> 8).astype(np.uint8)
    return Image.fromarray(grey)


def _in_srgb(image: Image.Image) -> Image.Image:
    """Pixels converted from an embedded colour profile to sRGB with LittleCMS (ImageCms);
    when the profile cannot be read or does not fit the pixels, the profile is dropped and
    the numbers are taken as sRGB, as most browsers do with a broken profile."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image,
            source,
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, *_DAMAGED):
        return image
    assert converted is not None  # inPlace=False always returns the new image
    return converted
