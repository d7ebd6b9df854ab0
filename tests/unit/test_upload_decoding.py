"""Which bytes are taken as an input image, and what the taken ones become.

Every input is made here with Pillow (or by hand, where Pillow would refuse to write it).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image, ImageCms

from adapters.upload_decoding import MAX_PIXELS, NormalisedImage, normalise_image
from domain.errors import InvalidImage

LIMIT = 2**20


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    stream = io.BytesIO()
    image.save(stream, format=fmt, **options)
    return stream.getvalue()


def normalised(data: bytes, field: str = "file") -> NormalisedImage:
    return normalise_image(data, max_bytes=LIMIT, field=field)


def refusal(data: bytes, field: str = "file", max_bytes: int = LIMIT) -> InvalidImage:
    with pytest.raises(InvalidImage) as caught:
        normalise_image(data, max_bytes=max_bytes, field=field)
    return caught.value


def decoded(result: NormalisedImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.png))
    image.load()
    return image


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return value


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A small, well-formed PNG whose header declares ``width`` x ``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


# Refused -------------------------------------------------------------------------------


def test_zero_bytes_are_refused_naming_the_field() -> None:
    error = refusal(b"", field="init_image")
    assert "empty" in error.message
    assert error.field == "init_image"
    assert error.details[0].field == "init_image"
    assert not error.too_large


def test_a_file_over_the_limit_is_too_large_and_says_the_limit() -> None:
    data = encoded(Image.new("RGB", (64, 64), "red"), "PNG") + bytes(2 * 2**20)
    error = refusal(data, max_bytes=3 * 2**20 // 2)
    assert error.too_large
    assert f"{len(data):,} bytes" in error.message
    assert "over the 1.5 MB limit" in error.message


def test_a_file_just_at_the_limit_is_taken() -> None:
    data = encoded(Image.new("RGB", (8, 8), "red"), "PNG")
    assert normalise_image(data, max_bytes=len(data)).width == 8


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "SVG"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"just some words", "text"),
        (bytes(range(256)) * 4, "not a format we recognise"),
    ],
)
def test_what_is_not_an_image_is_named(content: bytes, named: str) -> None:
    error = refusal(content)
    assert named in error.message
    assert "PNG, JPEG and WEBP" in error.message
    assert not error.too_large


@pytest.mark.parametrize(("fmt", "named"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_another_image_format_is_named(fmt: str, named: str) -> None:
    error = refusal(encoded(Image.new("RGB", (8, 8), "blue"), fmt))
    assert f"a {named} image" in error.message


def test_an_animated_png_says_how_many_frames() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue")]
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert "animated PNG with 2 frames" in refusal(data).message


def test_an_animated_webp_says_how_many_frames() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue", "green")]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert "animated WEBP with 3 frames" in refusal(data).message


def test_a_png_declaring_30000_by_30000_pixels_is_refused_from_its_header() -> None:
    data = png_declaring(30000, 30000)
    assert len(data) < 200
    error = refusal(data)
    assert "30000 x 30000" in error.message
    assert f"{MAX_PIXELS // 2**20} megapixels" in error.message


def test_a_jpeg_declaring_a_huge_size_is_refused_from_its_header() -> None:
    data = bytearray(encoded(Image.new("RGB", (8, 8), "red"), "JPEG"))
    start = data.index(b"\xff\xc0")  # SOF0: length, precision, height, width
    data[start + 5 : start + 9] = struct.pack(">HH", 60000, 60000)
    assert "60000 x 60000" in refusal(bytes(data)).message


def test_a_webp_declaring_a_huge_canvas_is_refused_from_its_header() -> None:
    side = 30000
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4)
    vp8x += (side - 1).to_bytes(3, "little") + (side - 1).to_bytes(3, "little")
    frame = encoded(Image.new("RGB", (8, 8), "red"), "WEBP")[12:]  # its VP8 chunk
    body = b"WEBP" + vp8x + frame
    error = refusal(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert "WEBP" in error.message
    assert "megapixels" in error.message


def test_the_bound_is_width_times_height() -> None:
    side = int(MAX_PIXELS**0.5)
    assert "megapixels" in refusal(png_declaring(side + 1, side)).message


def test_a_truncated_jpeg_is_refused() -> None:
    picture = Image.effect_noise((128, 128), 64).convert("RGB")
    data = encoded(picture, "JPEG", quality=95)
    error = refusal(data[: len(data) // 2])
    assert "JPEG" in error.message
    assert "truncated or damaged" in error.message


def test_a_truncated_png_is_refused() -> None:
    data = encoded(Image.effect_noise((128, 128), 64), "PNG")
    assert "truncated or damaged" in refusal(data[: len(data) // 2]).message


def test_a_png_signature_with_a_damaged_header_is_refused() -> None:
    error = refusal(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"garbage" * 3)
    assert "PNG" in error.message


def test_a_png_with_a_bad_checksum_is_refused() -> None:
    data = bytearray(encoded(Image.new("RGB", (8, 8), "red"), "PNG"))
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    assert "PNG" in refusal(bytes(data)).message


# Taken and normalised ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_each_accepted_format_becomes_an_rgb_png(fmt: str) -> None:
    result = normalised(encoded(Image.new("RGB", (40, 24), (200, 30, 30)), fmt))
    assert (result.width, result.height, result.source_format) == (40, 24, fmt)
    image = decoded(result)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (40, 24))
    red, green, blue = pixel(image, 20, 12)
    assert red > 180 and green < 60 and blue < 60


def test_exif_orientation_is_applied() -> None:
    picture = Image.new("RGB", (40, 20), "white")
    picture.paste((255, 0, 0), (0, 0, 10, 20))  # a red band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    result = normalised(encoded(picture, "JPEG", exif=exif, quality=95))
    assert (result.width, result.height) == (20, 40)
    red, green, _ = pixel(decoded(result), 10, 2)
    assert red > 200 and green < 60  # the left band is now on top


def test_transparency_is_kept_as_it_was_sent() -> None:
    # Kept, not flattened: a mask drawn on a transparent background is its alpha.
    picture = Image.new("RGBA", (4, 1), (0, 0, 0, 0))
    picture.putpixel((1, 0), (0, 0, 0, 255))
    picture.putpixel((2, 0), (255, 255, 255, 128))
    picture.putpixel((3, 0), (10, 120, 240, 1))
    image = decoded(normalised(encoded(picture, "PNG")))
    assert image.mode == "RGBA"
    assert image.tobytes() == picture.tobytes()


def test_an_opaque_alpha_channel_is_dropped() -> None:
    picture = Image.new("RGBA", (2, 1), (10, 120, 240, 255))
    image = decoded(normalised(encoded(picture, "PNG")))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (10, 120, 240)


def test_a_palette_png_with_transparency_keeps_it() -> None:
    picture = Image.new("P", (2, 1))
    picture.putpalette([0, 0, 255, 10, 10, 10])
    picture.putpixel((0, 0), 0)
    picture.putpixel((1, 0), 1)
    image = decoded(normalised(encoded(picture, "PNG", transparency=1)))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (0, 0, 255, 255)
    assert pixel(image, 1, 0)[3] == 0


def test_an_rgb_png_with_a_transparent_colour_keeps_it() -> None:
    picture = Image.new("RGB", (2, 1), (0, 0, 0))
    picture.putpixel((1, 0), (255, 255, 255))
    image = decoded(normalised(encoded(picture, "PNG", transparency=(0, 0, 0))))
    assert image.mode == "RGBA"
    assert [pixel(image, x, 0)[3] for x in range(2)] == [0, 255]


def test_la_keeps_its_alpha_as_rgba() -> None:
    picture = Image.new("LA", (2, 1), (0, 255))
    picture.putpixel((1, 0), (200, 0))
    image = decoded(normalised(encoded(picture, "PNG")))
    assert image.mode == "RGBA"
    assert [image.getpixel((x, 0)) for x in range(2)] == [(0, 0, 0, 255), (200, 200, 200, 0)]


def test_a_webp_with_transparency_keeps_it() -> None:
    picture = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    picture.paste((255, 255, 255, 255), (0, 0, 4, 8))
    image = decoded(normalised(encoded(picture, "WEBP", lossless=True)))
    assert image.mode == "RGBA"
    assert image.getpixel((1, 1)) == (255, 255, 255, 255) and pixel(image, 6, 6)[3] == 0


def test_a_jpeg_is_stored_as_rgb() -> None:
    image = decoded(normalised(encoded(Image.new("RGB", (8, 8), "red"), "JPEG")))
    assert image.mode == "RGB"


def test_an_icc_profile_on_a_transparent_png_keeps_the_alpha() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture = Image.new("RGBA", (3, 1), (10, 120, 240, 0))
    picture.putpixel((1, 0), (10, 120, 240, 128))
    picture.putpixel((2, 0), (10, 120, 240, 255))
    image = decoded(normalised(encoded(picture, "PNG", icc_profile=srgb)))
    assert image.mode == "RGBA" and "icc_profile" not in image.info
    assert [pixel(image, x, 0)[3] for x in range(3)] == [0, 128, 255]
    assert all(abs(a - b) <= 2 for a, b in zip(pixel(image, 2, 0)[:3], (10, 120, 240), strict=True))


def test_a_16_bit_grey_png_is_scaled_not_clipped() -> None:
    picture = Image.new("I;16", (3, 1))
    for x, value in enumerate((0, 32768, 65535)):
        picture.putpixel((x, 0), value)
    data = encoded(picture, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    image = decoded(normalised(data))
    assert [image.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128,) * 3, (255,) * 3]


def test_an_opaque_16_bit_rgba_png_becomes_8_bit_rgb() -> None:
    # Pillow cannot write one: made by hand, one opaque mid-grey pixel.
    header = struct.pack(">IIBBBBB", 1, 1, 16, 6, 0, 0, 0)
    row = b"\x00" + struct.pack(">HHHH", 32768, 32768, 32768, 65535)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row))
        + png_chunk(b"IEND", b"")
    )
    assert decoded(normalised(data)).getpixel((0, 0)) == (128, 128, 128)


def test_a_16_bit_rgba_png_with_transparency_becomes_8_bit_rgba() -> None:
    header = struct.pack(">IIBBBBB", 1, 1, 16, 6, 0, 0, 0)
    row = b"\x00" + struct.pack(">HHHH", 65535, 0, 0, 32768)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row))
        + png_chunk(b"IEND", b"")
    )
    assert decoded(normalised(data)).getpixel((0, 0)) == (255, 0, 0, 128)


def test_a_cmyk_jpeg_becomes_rgb() -> None:
    picture = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red in ink
    result = normalised(encoded(picture, "JPEG", quality=95))
    red, green, blue = pixel(decoded(result), 8, 8)
    assert red > 200 and green < 60 and blue < 60


def test_an_icc_profile_is_converted_and_not_kept() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encoded(Image.new("RGB", (8, 8), (10, 120, 240)), "PNG", icc_profile=srgb)
    image = decoded(normalised(data))
    assert "icc_profile" not in image.info
    assert all(abs(a - b) <= 2 for a, b in zip(pixel(image, 4, 4), (10, 120, 240), strict=True))


def test_a_broken_icc_profile_is_dropped_and_the_pixels_kept() -> None:
    data = encoded(Image.new("RGB", (8, 8), (10, 120, 240)), "PNG", icc_profile=b"not a profile")
    image = decoded(normalised(data))
    assert image.getpixel((4, 4)) == (10, 120, 240)
    assert "icc_profile" not in image.info


def test_metadata_does_not_travel_into_the_stored_png() -> None:
    exif = Image.Exif()
    exif[0x010F] = "A camera maker"
    data = encoded(Image.new("RGB", (8, 8), "red"), "JPEG", exif=exif)
    image = decoded(normalised(data))
    assert "exif" not in image.info
    assert not image.getexif()


def test_grey_and_bilevel_pngs_become_rgb() -> None:
    for mode in ("L", "1"):
        image = decoded(normalised(encoded(Image.new(mode, (4, 4), 255), "PNG")))
        assert image.mode == "RGB"
        assert image.getpixel((0, 0)) == (255, 255, 255)
