"""The output size of an edit: the input's, brought within the request's bounds."""

from __future__ import annotations

SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE = 64, 1024, 8
DEFAULT_SIZE = 512


def _round_to_multiple(value: float) -> int:
    return max(SIZE_MIN, min(SIZE_MAX, round(value / SIZE_MULTIPLE) * SIZE_MULTIPLE))


def output_size(
    input_width: int, input_height: int, width: int | None = None, height: int | None = None
) -> tuple[int, int]:
    """The output size for an input of ``input_width`` x ``input_height``.

    Neither given: the input's size, scaled (keeping its shape) to fit within the request
    bounds, then each side rounded to a multiple of 8. One given: the other follows the
    input's shape. Both given: those. A bad given value is returned as it is, for the
    field check to report.
    """
    if width is not None and height is not None:
        return width, height
    aspect = input_width / input_height
    if isinstance(width, int) and not isinstance(width, bool):
        return width, _round_to_multiple(width / aspect)
    if isinstance(height, int) and not isinstance(height, bool):
        return _round_to_multiple(height * aspect), height
    if width is not None or height is not None:
        return width or DEFAULT_SIZE, height or DEFAULT_SIZE
    scale = min(1.0, SIZE_MAX / max(input_width, input_height))
    scale = max(scale, SIZE_MIN / min(input_width, input_height))
    return _round_to_multiple(input_width * scale), _round_to_multiple(input_height * scale)
