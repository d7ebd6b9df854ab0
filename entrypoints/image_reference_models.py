"""How a request names an input image, and how a job's record shows one: the API's
shapes for image-to-image and inpainting (`api_models.GenerationBody` uses them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.input_image import ORIGINS


class _Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class UploadReference(_Reference):
    """An upload (`POST /uploads`). The other fields are those a job's `params` carry, so
    that posting `params` again works: origin and origin_id are kept when sha256 is the
    upload's, the rest are not used."""

    upload_id: str = Field(min_length=1, max_length=128)
    sha256: str | None = Field(None, max_length=64)
    width: int | None = None
    height: int | None = None
    origin: Literal[ORIGINS] | None = None  # type: ignore[valid-type]
    origin_id: str | None = Field(None, max_length=128)


class GalleryReference(_Reference):
    """An image in the gallery, by its file name (`9f...c2.png`, as in its URL)."""

    image_id: str = Field(min_length=1, max_length=128)


class InlineImage(_Reference):
    """The image itself: base64, or a `data:image/...;base64,` URL."""

    data: str


ImageReference = UploadReference | GalleryReference | InlineImage | str
REFERENCE_RULE = (
    'Must be {"upload_id": ...}, {"image_id": ...}, {"data": base64}, a base64 string '
    "or a data: URL, or null"  # the message's full stop is added with it
)


class InputImageInfo(BaseModel):
    """An input image as a job keeps it: the upload it reads, and how the client gave it."""

    model_config = ConfigDict(extra="forbid")

    upload_id: str
    sha256: str
    width: int
    height: int
    origin: Literal[ORIGINS]  # type: ignore[valid-type]
    origin_id: str | None = Field(description="The gallery image's id for origin gallery.")
