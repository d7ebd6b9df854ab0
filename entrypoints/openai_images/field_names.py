"""Our field names in an error, told as OpenAI's: a client posted `size`, `n`, `image`
and `mask`, not our `width`, `num_images`, `init_image` and `mask_image`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import InvalidImage, InvalidRequest, UnsupportedOption
from entrypoints.field_renames import renamed

OPENAI_NAMES = {
    "width": "size",
    "height": "size",
    "num_images": "n",
    "init_image": "image",
    "mask_image": "mask",
}


@contextmanager
def openai_field_names() -> Iterator[None]:
    """Re-raise a field error from within with OpenAI's names for our fields."""
    try:
        yield
    except (InvalidImage, UnsupportedOption, InvalidRequest) as error:
        raise renamed(error, OPENAI_NAMES) from None
