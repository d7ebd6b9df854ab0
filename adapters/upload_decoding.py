"""Whether bytes given as an input image are one we use, and the normalised PNG if they are.

Only PNG, JPEG and WEBP are taken, each as one still picture. The format is recognised
from its first bytes and its header is read by that format's own Pillow class, so the
declared size is known and refused when too large before a single pixel is decoded (a
few hundred bytes can declare 30000 x 30000 pixels, 2.7 GB once decoded). Constructing
the class directly also bypasses ``Image.open``'s decompression-bomb check, which warns
(an error under the tests' warning filters) or raises with Pillow's own wording: our
bound is lower and says so in our words. Everything else — not an image, another
format, several frames, a damaged file — is an ``InvalidImage`` naming what it is.

What is kept is 8-bit sRGB: EXIF orientation applied, every mode converted, and colour
profiles converted to sRGB, which is what the model was trained on. Transparency is kept
(an RGBA PNG) when some pixel is not opaque, else the PNG is RGB. It is kept because an
upload does not say what it is for: as an init image it is flattened on white when used
(what a transparent PNG looks like on the page it came from), but as a mask its alpha is
the mask itself, as GIMP, canvas exports and hand-made masks draw it: strokes on a
transparent background (see ``adapters.edit_pixels``).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin
from PIL.ImageFile import ImageFile

from domain.errors import InvalidImage

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_PIXELS = 8192 * 8192
"""64 megapixels: an 8192 x 8192 picture; every phone photo fits. Decoding one takes up
to 256 MB (4 bytes a pixel for CMYK or 16-bit grey), once, before it is converted."""

# Level 1 is several times faster than the default and only slightly larger on photos.
_PNG_COMPRESS_LEVEL = 1

# What Pillow raises on a damaged file while reading its header or its pixels (its own
# header code turns IndexError, KeyError, TypeError, EOFError and struct.error into
# SyntaxError; a decoder reports OSError, or ValueError on impossible values).
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)

_OPENERS: dict[str, Callable[[IO[bytes]], ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    # JpegImageFile, not Image.open: a phone's multi-picture JPEG (MPO: a photo and its
    # depth map or preview) is then its first picture, the photo, not "several frames".
    "JPEG": JpegImagePlugin.JpegImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}


@dataclass(frozen=True)
class NormalisedImage:
    png: bytes
    """8-bit PNG, RGBA when some pixel is not opaque, else RGB; no metadata."""
    width: int
    height: int
    source_format: str
    """What was sent: ``PNG``, ``JPEG`` or ``WEBP``."""


def normalise_image(data: bytes, *, max_bytes: int, field: str = "file") -> NormalisedImage:
    """The image in ``data`` as an 8-bit sRGB(A) PNG; raises ``InvalidImage`` naming ``field``.

    Blocking and CPU-heavy for large photos: call it from a worker thread.
    """
    if not data:
        raise InvalidImage(field, "The file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise InvalidImage(
            field,
            f"The file is {len(data):,} bytes, over the {_megabytes(max_bytes)} limit for images.",
            too_large=True,
        )
    source_format = _recognised_format(data)
    if source_format is None:
        raise InvalidImage(field, _what_it_is(data))
    image = _read_header(data, source_format, field)
    try:
        _check_still_and_small(image, source_format, field)
        try:
            image.load()
        except _DAMAGED:
            raise InvalidImage(
                field, f"The {source_format} file is truncated or damaged: it cannot be decoded."
            ) from None
        picture = _srgb_keeping_alpha(_upright(image))
    finally:
        image.close()
    picture.info = {}  # no profile, EXIF or text travels into the stored PNG
    stream = io.BytesIO()
    picture.save(stream, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return NormalisedImage(stream.getvalue(), picture.width, picture.height, source_format)


def _recognised_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _read_header(data: bytes, source_format: str, field: str) -> ImageFile:
    try:
        return _OPENERS[source_format](io.BytesIO(data))
    except Image.DecompressionBombError:
        # WEBP's header code makes Pillow's own check, far above our bound.
        raise InvalidImage(field, _too_many_pixels(source_format, "over 179 million")) from None
    except _DAMAGED:
        raise InvalidImage(
            field, f"The file starts like a {source_format} image but its header is damaged."
        ) from None


def _check_still_and_small(image: ImageFile, source_format: str, field: str) -> None:
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise InvalidImage(
            field,
            f"The file is an animated {source_format} with {frames} frames; "
            "send a single still image.",
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        pixels = f"{width} x {height} ({width * height / 1e6:,.0f} million)"
        raise InvalidImage(field, _too_many_pixels(source_format, pixels))


def _too_many_pixels(source_format: str, pixels: str) -> str:
    return (
        f"The {source_format} image declares {pixels} pixels; at most "
        f"{MAX_PIXELS // 2**20} megapixels ({MAX_PIXELS:,} pixels) are decoded."
    )


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
        return image.convert("RGBA")
    return image.convert("RGB")


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


def _what_it_is(data: bytes) -> str:
    accepted = "only PNG, JPEG and WEBP images are accepted"
    known = _pillow_format(data)
    if known is not None:
        return f"The file is a {known} image; {accepted}."
    return f"The file is {_kind_of_content(data)}, not an image; {accepted}."


def _pillow_format(data: bytes) -> str | None:
    """The name of another format Pillow knows from its first bytes, without opening it
    (opening a GIF or TIFF header would make Pillow's decompression-bomb check)."""
    Image.init()
    prefix = data[:16]
    for name in Image.ID:
        accept = Image.OPEN[name][1]
        try:
            if accept is not None and accept(prefix):
                return name
        except _DAMAGED:
            continue
    return None


def _kind_of_content(data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head and (head.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--"))):
        return "SVG (vector graphics) text"
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith(b"<?xml"):
        return "XML text"
    if head.startswith(b"%pdf-"):
        return "a PDF document"
    if head.startswith(b"pk\x03\x04"):
        return "a ZIP archive"
    if head.startswith((b"{", b"[")):
        return "JSON text"
    try:
        # Incremental: the 4 KiB cut may fall inside a character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "not a format we recognise"
    return "text"


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
