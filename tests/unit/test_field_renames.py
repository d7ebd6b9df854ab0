"""One renaming of our field names into a foreign API's, for every kind of field error."""

from __future__ import annotations

from domain.errors import (
    FieldError,
    GenerationTimeout,
    InvalidImage,
    InvalidRequest,
    UnsupportedOption,
)
from entrypoints.field_renames import renamed

NAMES = {"width": "size", "height": "size", "init_image": "image", "num_images": "n"}


def test_field_errors_take_the_foreign_names_and_two_into_one_stays_one() -> None:
    error = InvalidRequest(
        [
            FieldError("width", "Must be between 64 and 1024."),
            FieldError("height", "Must be a multiple of 8."),
            FieldError("prompt", "Must not be empty."),
        ]
    )
    theirs = renamed(error, NAMES)
    assert isinstance(theirs, InvalidRequest)
    assert theirs.details == [
        FieldError("size", "Must be between 64 and 1024."),
        FieldError("prompt", "Must not be empty."),
    ]
    assert theirs.message == "Invalid request: check size, prompt."


def test_an_image_error_keeps_its_size_mark() -> None:
    theirs = renamed(InvalidImage("init_image", "Too big.", too_large=True), NAMES)
    assert isinstance(theirs, InvalidImage)
    assert (theirs.field, theirs.message, theirs.too_large) == ("image", "Too big.", True)
    assert theirs.details == [FieldError("image", "Too big.")]


def test_an_unsupported_option_keeps_its_message() -> None:
    theirs = renamed(UnsupportedOption("num_images", "One at a time."), NAMES)
    assert isinstance(theirs, UnsupportedOption)
    assert theirs.details == [FieldError("n", "One at a time.")]
    assert theirs.message == "One at a time."


def test_other_errors_and_fields_pass_as_they_were() -> None:
    timeout = GenerationTimeout("Too slow.")
    assert renamed(timeout, NAMES) is timeout
    kept = renamed(InvalidImage("mask", "No."), NAMES)
    assert isinstance(kept, InvalidImage) and kept.field == "mask"
