"""Our field names in an error, told as OpenAI's: a client posted `size`, `n`, `image`
and `mask`, not our `width`, `num_images`, `init_image` and `mask_image`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import FieldError, InvalidImage, InvalidRequest, UnsupportedOption

OPENAI_NAMES = {
    "width": "size",
    "height": "size",
    "num_images": "n",
    "init_image": "image",
    "mask_image": "mask",
}


def openai_name(field: str) -> str:
    return OPENAI_NAMES.get(field, field)


def _renamed(details: list[FieldError]) -> list[FieldError]:
    # width and height both become size: one detail for it.
    named: dict[str, FieldError] = {}
    for detail in details:
        name = openai_name(detail.field)
        named.setdefault(name, FieldError(name, detail.message))
    return list(named.values())


@contextmanager
def openai_field_names() -> Iterator[None]:
    """Re-raise a field error from within with OpenAI's names for our fields."""
    try:
        yield
    except InvalidImage as error:
        raise InvalidImage(
            openai_name(error.field), error.message, too_large=error.too_large
        ) from None
    except UnsupportedOption as error:
        detail = _renamed(error.details)[0]
        raise UnsupportedOption(detail.field, error.message) from None
    except InvalidRequest as error:
        raise InvalidRequest(_renamed(error.details)) from None
