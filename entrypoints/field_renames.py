"""A refusal of our request's fields, told in a foreign API's field names.

A foreign call is translated into our request's fields, and our checks name those
(`guidance_scale`, `init_image`); its client posted its own (`cfg_scale`, `image`). Each
foreign package keeps its own table (ours -> theirs) and renames through this one
function, so both rename alike: every field error's field, the image error's field, and
two of ours that become one of theirs (`width` and `height` -> OpenAI's `size`) as one
detail, the first.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.errors import DomainError, FieldError, InvalidImage, InvalidRequest, UnsupportedOption


def renamed(error: DomainError, names: Mapping[str, str]) -> DomainError:
    """``error`` with each of our field names in ``names`` as the foreign name it maps
    to; any other error, or field, as it was."""
    if isinstance(error, InvalidImage):
        field = names.get(error.field, error.field)
        return InvalidImage(field, error.message, too_large=error.too_large)
    if isinstance(error, UnsupportedOption):
        # The message names no field: the detail's is the whole of it.
        detail = _renamed_details(error.details, names)[0]
        return UnsupportedOption(detail.field, detail.message)
    if isinstance(error, InvalidRequest):
        return InvalidRequest(_renamed_details(error.details, names))
    return error


def _renamed_details(details: list[FieldError], names: Mapping[str, str]) -> list[FieldError]:
    named: dict[str, FieldError] = {}
    for detail in details:
        name = names.get(detail.field, detail.field)
        named.setdefault(name, FieldError(name, detail.message))
    return list(named.values())
