"""Words for bytes that are not an image we take: what they are, as well as can be told
from their first bytes, for the refusal's message."""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable

from PIL import Image

_ACCEPT_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)
# Format names read as words, not spelled out letter by letter: "a FITS image".
_READ_AS_WORDS = frozenset({"FITS", "FLI", "MCIDAS", "SPIDER", "SUN"})
# Letters whose spoken name starts with a vowel sound: "an SGI image", "an HDF5 image".
_VOWEL_SOUNDING_LETTERS = "AEFHILMNORSX"
# Bytes that plain text does not hold (C0 controls but tab, line feed, form feed and
# carriage return; and DEL).
_NOT_IN_TEXT = bytes([*range(0, 9), 11, *range(14, 32), 127])


def with_article(name: str) -> str:
    """``name`` after "a" or "an", chosen by its first sound: "an ICO", "a PNG"."""
    vowels = "AEIOU" if name.upper() in _READ_AS_WORDS else _VOWEL_SOUNDING_LETTERS
    return f"{'an' if name[:1].upper() in vowels else 'a'} {name}"


def what_it_is(data: bytes, accepted: str) -> str:
    known = pillow_format(data)
    if known is not None:
        return f"The file is {with_article(known)} image; {accepted}."
    return f"The file is {kind_of_content(data)}, not an image; {accepted}."


def pillow_format(data: bytes) -> str | None:
    """The name of another format Pillow knows from its first bytes, without opening it
    (opening a GIF or TIFF header would make Pillow's decompression-bomb check)."""
    Image.init()
    prefix = data[:16]
    for name in Image.ID:
        accept: Callable[[bytes], object] | None = Image.OPEN[name][1]
        try:
            if accept is not None and accept(prefix):
                return name
        except _ACCEPT_ERRORS:  # a format's check reading past a short file's end
            continue
    return None


def kind_of_content(data: bytes) -> str:
    if data.count(b"\x00") == len(data):
        return f"{len(data):,} zero bytes"
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
    unrecognised = "not a format we recognise"
    # Control bytes are valid UTF-8 but never text (zeros, binary headers).
    if len(head.translate(None, _NOT_IN_TEXT)) != len(head):
        return unrecognised
    try:
        # Incremental: the 4 KiB cut may fall inside a character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return unrecognised
    return "text"
