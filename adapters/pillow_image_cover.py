"""What a flagged image becomes (the action setting), with Pillow: a strong blur or a plain
placeholder, each with a short neutral notice drawn in, so that the image says what
happened wherever it ends up (another tool's gallery shows pixels, not our JSON)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter

from application.ports import RenderedImage

NOTICE = "Filtered by the safety checker"
_PLACEHOLDER_GREY = (128, 128, 128)
_SMALLEST_SIDE = 8
"""A flagged image is first shrunk to this many pixels on its short side: what the blur
starts from holds no detail to recover, whatever deconvolution is tried."""


class PillowImageCover:
    def __init__(self, action: str = "blur") -> None:
        if action not in ("blur", "block"):
            raise ValueError(f"action must be blur or block, not {action!r}")
        self._action = action

    @property
    def action(self) -> str:
        return self._action

    def cover(self, image: RenderedImage) -> RenderedImage:
        size = (image.width, image.height)
        if self._action == "block":
            covered = Image.new("RGB", size, _PLACEHOLDER_GREY)
        else:
            covered = _blurred(Image.frombytes("RGB", size, image.rgb))
        _draw_notice(covered)
        return RenderedImage(
            image.width, image.height, covered.tobytes(), image.seed, dict(image.timings_ms)
        )

    def cover_preview(self, jpeg: bytes) -> bytes:
        with Image.open(io.BytesIO(jpeg)) as preview:
            blurred = _blurred(preview.convert("RGB"))
        out = io.BytesIO()
        blurred.save(out, format="JPEG", quality=70)
        return out.getvalue()


def _blurred(picture: Image.Image) -> Image.Image:
    width, height = picture.size
    scale = _SMALLEST_SIDE / max(1, min(width, height))
    small = picture.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX
    )
    return small.resize((width, height), Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(max(width, height) / 32)
    )


def _draw_notice(picture: Image.Image) -> None:
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((0, 0), NOTICE)
    text_width, text_height = box[2] - box[0], box[3] - box[1]
    x = max(2, (picture.width - text_width) // 2)
    y = max(2, (picture.height - text_height) // 2)
    draw.rectangle((x - 4, y - 4, x + text_width + 4, y + text_height + 4), fill=(0, 0, 0))
    draw.text((x, y), NOTICE, fill=(255, 255, 255))
