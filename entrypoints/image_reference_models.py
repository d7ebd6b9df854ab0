"""How a request names an input image, and how a job's record shows one: the API's
shapes for image-to-image and inpainting (`api_models.GenerationBody` takes `EditFields`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.generation_request import DEFAULT_MASK_BLUR, DEFAULT_STRENGTH
from domain.input_image import DEFAULT_RESIZE_MODE, ORIGINS, RESIZE_MODES
from entrypoints.field_bounds import STRICT_BODY, Integral, ranged


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


class EditFields(BaseModel):
    """The fields of an image-to-image or inpainting request."""

    model_config = STRICT_BODY

    init_image: ImageReference | None = Field(
        None,
        description="The image to start from (image-to-image); width and height left out "
        "follow its shape.",
    )
    strength: Annotated[float, ranged("strength")] = Field(
        DEFAULT_STRENGTH,
        description="How far from init_image to go: 0 keeps it, 1 ignores it; "
        "about steps x strength steps run.",
    )
    mask_image: ImageReference | None = Field(
        None, description="Inpainting: white repaints, black keeps; the init_image's size."
    )
    mask_blur: Annotated[int, ranged("mask_blur"), Integral] = Field(
        DEFAULT_MASK_BLUR, description="Pixels of blur on the mask's edge."
    )
    invert_mask: bool = Field(False, description="Repaint the black part instead.")
    resize_mode: Literal[RESIZE_MODES] = Field(  # type: ignore[valid-type]
        DEFAULT_RESIZE_MODE,
        description="An input of another shape than the output: fill (crop), fit "
        "(inside, edges extended) or stretch.",
    )

    @field_validator("init_image", "mask_image", mode="wrap")
    @classmethod
    def _one_reference(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        """One sentence for a bad reference, instead of one per alternative of the union."""
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("image_reference", REFERENCE_RULE) from None


class InputImageInfo(BaseModel):
    """An input image as a job keeps it: the upload it reads, and how the client gave it."""

    model_config = ConfigDict(extra="forbid")

    upload_id: str
    sha256: str
    width: int
    height: int
    origin: Literal[ORIGINS]  # type: ignore[valid-type]
    origin_id: str | None = Field(description="The gallery image's id for origin gallery.")
