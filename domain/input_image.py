"""Images a request starts from (image-to-image, inpainting), and the sizing rule.

Every input image, however the client gave it (an upload, a gallery image, inline
base64), is kept as an upload before its job is accepted, so that a queued job survives a
restart and a result can be traced to the exact pixels it started from. The request holds
only this reference; the pixels stay in the upload store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from domain.errors import FieldError

RESIZE_MODES = ("fill", "fit", "stretch")
"""How an input is brought to an output size of another shape (AUTOMATIC1111's numbers):

- ``fill`` (1, "crop and resize"): scaled to cover the output, the overflow cropped evenly.
  The default: nothing is distorted, and no border is invented that the model then has to
  paint over.
- ``fit`` (2, "resize and fill"): scaled to fit inside, the rest filled from the edges.
- ``stretch`` (0, "just resize"): scaled to the output's width and height independently.
"""
DEFAULT_RESIZE_MODE = "fill"
A1111_RESIZE_MODES = {0: "stretch", 1: "fill", 2: "fit"}


class EditMode(str, Enum):
    """Which kind of job a request is; it follows from the fields given."""

    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_TO_IMAGE = "image_to_image"
    INPAINTING = "inpainting"


def edit_mode(has_init_image: bool, has_mask: bool) -> EditMode:
    """Which kind of job a request with (or without) these images is."""
    if not has_init_image:
        return EditMode.TEXT_TO_IMAGE
    return EditMode.INPAINTING if has_mask else EditMode.IMAGE_TO_IMAGE


ORIGINS = ("upload", "gallery", "inline")


@dataclass(frozen=True)
class InputImage:
    """A stored input image: an upload, normalised to an 8-bit sRGB PNG (EXIF orientation
    applied; transparency kept, as RGBA, to be read by role when used: an init image is
    flattened on white, a mask is its alpha)."""

    upload_id: str
    sha256: str
    """Of the stored PNG, the bytes the job reads."""
    width: int
    height: int
    origin: str = "upload"
    """How the client gave it: ``upload``, ``gallery`` (by image id) or ``inline``."""
    origin_id: str | None = None
    """The gallery image's id when ``origin`` is ``gallery``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "origin": self.origin,
            "origin_id": self.origin_id,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InputImage:
        """From a record's dict; raises ValueError, TypeError or KeyError on a bad shape."""
        values = {
            "upload_id": data["upload_id"],
            "sha256": data["sha256"],
            "width": data["width"],
            "height": data["height"],
            "origin": data.get("origin", "upload"),
            "origin_id": data.get("origin_id"),
        }
        for name in ("upload_id", "sha256", "origin"):
            if not isinstance(values[name], str):
                raise TypeError(f"{name} must be a string")
        for name in ("width", "height"):
            value = values[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer")
        if values["origin"] not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}")
        if values["origin_id"] is not None and not isinstance(values["origin_id"], str):
            raise TypeError("origin_id must be a string or null")
        return cls(**values)


def image_pair_errors(init: object, mask: object) -> list[FieldError]:
    """What is wrong with an init image and mask given together, if anything."""
    if mask is not None and init is None:
        return [FieldError("mask_image", "A mask needs an init_image to repaint.")]
    if (
        isinstance(init, InputImage)
        and isinstance(mask, InputImage)
        and (mask.width, mask.height) != (init.width, init.height)
    ):
        return [
            FieldError(
                "mask_image",
                f"The mask is {mask.width}x{mask.height} but the image is "
                f"{init.width}x{init.height}: they must be the same size.",
            )
        ]
    return []
