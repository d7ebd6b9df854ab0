"""Pixel work around an edit, with Pillow and numpy: inputs at the output size, and the
inpainted result finished as AUTOMATIC1111 does (the original pasted back outside the mask).

(Groundwork skeleton: the pixels helper fills this in.)
"""

from __future__ import annotations

from application.ports import EditImages, RenderedImage, UploadStore
from domain.generation_request import GenerationRequest


class PillowEditPixels:
    def __init__(self, uploads: UploadStore) -> None:
        self._uploads = uploads

    def prepare(self, request: GenerationRequest) -> EditImages | None:
        if request.init_image is None:
            return None
        raise NotImplementedError

    def finish(self, image: RenderedImage, edit: EditImages) -> RenderedImage:
        return image
