"""Whether bytes given as an input image are one we use, and the normalised PNG if they are.

Only PNG, JPEG and WEBP are taken, each as one still picture. The format is recognised
from its first bytes and its header is read by that format's own Pillow class, so the
declared size is known and refused when too large before a single pixel is decoded (a
few hundred bytes can declare 30000 x 30000 pixels, 2.7 GB once decoded): too many
pixels, or too many bytes once decoded (a 790 KB PNG of 8192 x 8192 16-bit RGBA pixels
is 512 MB). Constructing the class directly also bypasses ``Image.open``'s
decompression-bomb check, which warns (an error under the tests' warning filters) or
raises with Pillow's own wording: our bound is lower and says so in our words.
Everything else — not an image, another format, several frames, a damaged file — is an
``InvalidImage`` naming what it is. At most two images are decoded at once
(``adapters.decode_slots``).

What is kept is 8-bit sRGB: EXIF orientation applied, every mode converted, and colour
profiles converted to sRGB, which is what the model was trained on
(``adapters.srgb_pictures``). Transparency is kept
(an RGBA PNG) when some pixel is not opaque, else the PNG is RGB. It is kept because an
upload does not say what it is for: as an init image it is flattened on white when used
(what a transparent PNG looks like on the page it came from), but as a mask its alpha is
the mask itself, as GIMP, canvas exports and hand-made masks draw it: strokes on a
transparent background (see ``adapters.edit_pixels``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from PIL import (
    Image,
    ImageMode,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)
from PIL.ImageFile import ImageFile

from adapters.decode_slots import DECODE_SLOTS, DecodeSlots
from adapters.non_image_content import what_it_is, with_article
from adapters.srgb_pictures import upright_srgb
from domain.errors import InvalidImage

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
_ACCEPTED = "only PNG, JPEG and WEBP images are accepted"
_METADATA_TOO_LARGE = (
    "The PNG file has a text or colour-profile chunk (zTXt, iTXt or iCCP) too large to "
    "read: over 1 MB once inflated. Send the picture without that metadata."
)
MAX_PIXELS = 8192 * 8192
"""64 megapixels: an 8192 x 8192 picture; every phone photo fits."""
MAX_DECODED_BYTES = 256 * 2**20
"""Pixels x channels x bytes per channel as the file stores them: an 8192 x 8192 picture
of 8-bit RGBA or CMYK, or 16-bit RGB up to 44 megapixels. Converting and encoding it
makes a copy or two more."""

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


def normalise_image(
    data: bytes, *, max_bytes: int, field: str = "file", slots: DecodeSlots = DECODE_SLOTS
) -> NormalisedImage:
    """The image in ``data`` as an 8-bit sRGB(A) PNG; raises ``InvalidImage`` naming ``field``.

    Blocking and CPU-heavy for large photos: call it from a worker thread. The header is
    checked at once; the decode waits for one of ``slots``.
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
        raise InvalidImage(field, what_it_is(data, _ACCEPTED))
    image = _read_header(data, source_format, field)
    try:
        sample_bytes = _bytes_per_sample(data, source_format, image)
        _check_still_and_small(image, source_format, field, sample_bytes)
        with slots.held():
            return _decoded(image, source_format, field)
    finally:
        image.close()


def _decoded(image: ImageFile, source_format: str, field: str) -> NormalisedImage:
    try:
        image.load()
    except _DAMAGED as error:
        if _is_metadata_too_large(error):
            raise InvalidImage(field, _METADATA_TOO_LARGE) from None
        raise InvalidImage(
            field, f"The {source_format} file is truncated or damaged: it cannot be decoded."
        ) from None
    picture = upright_srgb(image)
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
    _check_webp_canvas(data, source_format, field)
    try:
        return _OPENERS[source_format](io.BytesIO(data))
    except Image.DecompressionBombError:
        # WEBP's header code makes Pillow's own check, far above our bound.
        raise InvalidImage(field, _too_many_pixels(source_format, "over 179 million")) from None
    except _DAMAGED as error:
        if _is_metadata_too_large(error):
            raise InvalidImage(field, _METADATA_TOO_LARGE) from None
        raise InvalidImage(
            field,
            f"The file starts like {with_article(source_format)} image but its header is damaged.",
        ) from None


def _check_webp_canvas(data: bytes, source_format: str, field: str) -> None:
    """A WEBP's canvas, read from its VP8X chunk before Pillow sees it: Pillow versions
    differ in what they raise for a huge one (12.3 calls it damage, 13 a bomb)."""
    if source_format != "WEBP" or data[12:16] != b"VP8X" or len(data) < 30:
        return
    width = 1 + int.from_bytes(data[24:27], "little")
    height = 1 + int.from_bytes(data[27:30], "little")
    if width * height > MAX_PIXELS:
        pixels = f"{width} x {height} ({width * height / 1e6:,.0f} million)"
        raise InvalidImage(field, _too_many_pixels(source_format, pixels))


def _is_metadata_too_large(error: BaseException) -> bool:
    # Pillow's PNG reader refuses a zTXt, iTXt or iCCP chunk that inflates past 1 MB (and
    # text chunks past 64 MB in all) with a ValueError naming its limit; that is a choice
    # of size, not damage.
    return isinstance(error, ValueError) and "MAX_TEXT_" in str(error)


def _check_still_and_small(
    image: ImageFile, source_format: str, field: str, sample_bytes: int
) -> None:
    frames = _frames(image)
    if frames is not None:
        raise InvalidImage(
            field,
            f"The file is an animated {source_format} with {frames}; send a single still image.",
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        pixels = f"{width} x {height} ({width * height / 1e6:,.0f} million)"
        raise InvalidImage(field, _too_many_pixels(source_format, pixels))
    channels = len(image.getbands())
    decoded = width * height * channels * sample_bytes
    if decoded > MAX_DECODED_BYTES:
        raise InvalidImage(
            field,
            f"The {source_format} image declares {width} x {height} pixels of {channels} "
            f"{8 * sample_bytes}-bit channels: {decoded / 2**20:,.0f} MB once decoded, over "
            f"the {MAX_DECODED_BYTES // 2**20} MB an image may take. Send it smaller or "
            "with 8 bits a channel.",
        )


def _frames(image: ImageFile) -> str | None:
    """How many frames an animation has, in words; None for a still picture."""
    frames = getattr(image, "n_frames", 1)
    if frames <= 1:
        return None
    if getattr(image, "default_image", False):
        # An APNG whose still picture is not the animation's first frame: Pillow counts
        # it with the frames its acTL chunk declares.
        animated = frames - 1
        return f"{animated:,} frame{'s' if animated > 1 else ''} besides its still picture"
    return f"{frames:,} frames"


def _bytes_per_sample(data: bytes, source_format: str, image: ImageFile) -> int:
    """Bytes a channel of a pixel takes decoded: the file's bit depth (a PNG's may be 16,
    which Pillow reads into 8-bit RGB(A) but inflates in full) or Pillow's mode's."""
    in_memory = int(ImageMode.getmode(image.mode).typestr[-1])
    # A PNG's first chunk is IHDR: width, height, then the bit depth at byte 24.
    if source_format == "PNG" and data[12:16] == b"IHDR" and len(data) > 24:
        return max(in_memory, (data[24] + 7) // 8)
    return in_memory


def _too_many_pixels(source_format: str, pixels: str) -> str:
    return (
        f"The {source_format} image declares {pixels} pixels; at most "
        f"{MAX_PIXELS // 2**20} megapixels ({MAX_PIXELS:,} pixels) are decoded."
    )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
