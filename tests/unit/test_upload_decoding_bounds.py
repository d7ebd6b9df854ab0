"""adapters.upload_decoding: what a small file may cost once decoded, how many decodes run
at once, and the words of a few refusals.

Large images are only declared (a hand-made header with a few bytes of data): a test
never decodes hundreds of megabytes. Whether a decode was started is seen through the
``DecodeSlots`` given, a hand-written fake.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PIL import Image

from adapters.decode_slots import DecodeSlots
from adapters.non_image_content import with_article
from adapters.upload_decoding import MAX_DECODED_BYTES, normalise_image
from domain.errors import InvalidImage

LIMIT = 32 * 2**20


class DecodeStarted(Exception):
    pass


class StopAtDecode(DecodeSlots):
    """Lets every header check run, and stops where the decode would begin."""

    @contextmanager
    def held(self) -> Iterator[None]:
        raise DecodeStarted
        yield  # pragma: no cover


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, depth: int, colour_type: int, *chunks: bytes) -> bytes:
    """A PNG whose header declares the size and sample format; its data is a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    body = chunks or (png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)),)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(body) + png_chunk(b"IEND", b"")
    )


def small_png() -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(stream, format="PNG")
    return stream.getvalue()


def refusal(data: bytes, slots: DecodeSlots | None = None) -> InvalidImage:
    with pytest.raises(InvalidImage) as caught:
        normalise_image(data, max_bytes=LIMIT, slots=slots or StopAtDecode())
    return caught.value


def wait_until(condition: Callable[[], bool]) -> None:
    """Waits for another thread to reach a state this test can see (not a timed check)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the other threads never got there"
        time.sleep(0.001)


# Decoded bytes --------------------------------------------------------------------------


def test_a_16_bit_rgba_png_over_the_byte_bound_is_refused_from_its_header() -> None:
    data = png(8192, 8192, 16, 6)  # the attacker's 790 KB file, without its pixels
    error = refusal(data)  # StopAtDecode: a decode started would raise DecodeStarted
    assert "8192 x 8192 pixels of 4 16-bit channels" in error.message
    assert "512 MB once decoded" in error.message
    assert f"the {MAX_DECODED_BYTES // 2**20} MB an image may take" in error.message
    assert not error.too_large  # the file is small: 422, not 413


@pytest.mark.parametrize(
    ("width", "height", "depth", "colour_type"),
    [
        (8192, 8192, 8, 6),  # 8-bit RGBA: exactly 256 MB
        (5792, 5792, 16, 6),  # 16-bit RGBA just under it
        (8192, 8192, 16, 0),  # 16-bit grey: 128 MB
    ],
)
def test_images_within_the_byte_bound_go_on_to_be_decoded(
    width: int, height: int, depth: int, colour_type: int
) -> None:
    with pytest.raises(DecodeStarted):
        normalise_image(
            png(width, height, depth, colour_type), max_bytes=LIMIT, slots=StopAtDecode()
        )


def test_a_16_bit_rgb_png_is_counted_at_six_bytes_a_pixel() -> None:
    error = refusal(png(7000, 7000, 16, 2))  # 49 megapixels, within MAX_PIXELS
    assert "3 16-bit channels: 280 MB" in error.message


# Decodes at once ------------------------------------------------------------------------


def test_at_most_the_slots_count_of_decodes_run_at_once() -> None:
    slots = DecodeSlots(2)
    lock = threading.Lock()
    inside, most = 0, 0
    release = threading.Event()

    def fake_decode() -> None:
        nonlocal inside, most
        with slots.held():
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait()
            with lock:
                inside -= 1

    threads = [threading.Thread(target=fake_decode) for _ in range(6)]
    for thread in threads:
        thread.start()
    wait_until(lambda: inside == 2 and slots.waiting == 4)
    release.set()
    for thread in threads:
        thread.join()
    assert (most, inside, slots.waiting) == (2, 0, 0)


def test_a_decode_waits_for_a_free_slot_and_then_runs() -> None:
    slots = DecodeSlots(1)
    results: list[int] = []
    with slots.held():  # another upload's decode
        thread = threading.Thread(
            target=lambda: results.append(
                normalise_image(small_png(), max_bytes=LIMIT, slots=slots).width
            )
        )
        thread.start()
        wait_until(lambda: slots.waiting == 1)
        assert results == []
    thread.join()
    assert results == [8]


def test_slots_are_given_back_when_a_decode_fails() -> None:
    slots = DecodeSlots(1)
    stream = io.BytesIO()
    Image.effect_noise((64, 64), 60).save(stream, format="PNG")
    truncated = stream.getvalue()[: len(stream.getvalue()) // 2]
    assert "truncated" in refusal(truncated, slots).message  # failed inside the slot
    assert normalise_image(small_png(), max_bytes=LIMIT, slots=slots).width == 8


# Words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("ICO", "an ICO"),
        ("IM", "an IM"),
        ("AVIF", "an AVIF"),
        ("EPS", "an EPS"),
        ("SGI", "an SGI"),
        ("MPEG", "an MPEG"),
        ("HDF5", "an HDF5"),
        ("XBM", "an XBM"),
        ("PNG", "a PNG"),
        ("GIF", "a GIF"),
        ("TIFF", "a TIFF"),
        ("FITS", "a FITS"),
        ("SUN", "a SUN"),
        ("WMF", "a WMF"),
    ],
)
def test_a_format_takes_its_article_by_its_first_sound(name: str, said: str) -> None:
    assert with_article(name) == said


def test_an_ico_file_is_called_an_ico_image() -> None:
    stream = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(stream, format="ICO")
    assert "The file is an ICO image;" in refusal(stream.getvalue()).message


def test_an_apng_declaring_two_billion_frames_is_reported_as_it_declares() -> None:
    # acTL before IDAT, no fcTL: the still picture is not one of the animation's frames.
    actl = png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    error = refusal(png(8, 8, 8, 2, actl, idat))
    assert "2,147,483,647 frames besides its still picture" in error.message
    assert "2147483648" not in error.message.replace(",", "")


def test_twenty_megabytes_of_zeros_are_not_called_text() -> None:
    data = bytes(20 * 2**20)
    message = refusal(data).message
    assert "20,971,520 zero bytes" in message
    assert "text" not in message


def test_bytes_with_control_characters_are_not_text() -> None:
    assert "not a format we recognise" in refusal(b"ab\x00cd\x01ef").message


def _inflating_to(size: int) -> bytes:
    return zlib.compress(b"a" * size)


@pytest.mark.parametrize(
    "chunks",
    [
        (png_chunk(b"zTXt", b"k\0\0" + _inflating_to(2 * 2**20)),),
        (png_chunk(b"iCCP", b"p\0\0" + _inflating_to(2 * 2**20)),),
        (
            png_chunk(b"IDAT", zlib.compress(b"\x00" + b"\x10" * 3)),
            png_chunk(b"zTXt", b"k\0\0" + _inflating_to(2 * 2**20)),
        ),
    ],
    ids=["ztxt", "iccp", "ztxt-after-the-pixels"],
)
def test_a_huge_text_or_profile_chunk_is_named_not_called_damage(chunks: tuple[bytes]) -> None:
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" + b"\x10" * 3))
    body = chunks if chunks[0][4:8] == b"IDAT" else (*chunks, idat)
    error = refusal(png(1, 1, 8, 2, *body), DecodeSlots(1))
    assert "text or colour-profile chunk" in error.message
    assert "damaged" not in error.message
