"""Pixel work around an edit, with Pillow and numpy: inputs at the output size, and the
inpainted result finished as AUTOMATIC1111 does (the original pasted back outside the mask).

Uploads keep their transparency (see ``adapters.upload_decoding``), read here by role. An
init image is flattened on white, what a transparent picture looks like on a page. A mask
with transparency is its alpha channel, as AUTOMATIC1111's ``create_binary_mask`` reads
one: strokes on a transparent background, whatever their colour, repaint where they are
opaque and keep where it is clear. A mask without transparency is its luminance: white
repaints, black keeps. (AUTOMATIC1111 rounds the alpha to 0 or 255; it is kept soft here,
like luminance, so antialiased stroke edges stay soft.)

Both inputs go through the same geometry, so a mask stays over the part of the picture it
was drawn on whatever the resize mode. The mask is blurred after resizing, so ``mask_blur``
is in output pixels: the softness a person sees in the result, whatever the input's size.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from application.ports import EditImages, RenderedImage, UploadStore
from domain.errors import UploadNotFound
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage

_RESAMPLE = Image.Resampling.LANCZOS
_WHITE = (255, 255, 255, 255)


class PillowEditPixels:
    def __init__(self, uploads: UploadStore) -> None:
        self._uploads = uploads

    def prepare(self, request: GenerationRequest) -> EditImages | None:
        if request.init_image is None:
            return None
        size = (request.width, request.height)
        init = on_white(self._read(request.init_image, "init_image"))
        init_rgb = resize_to(init, size, request.resize_mode).tobytes()
        mask = None
        if request.mask_image is not None:
            grey = mask_grey(self._read(request.mask_image, "mask_image"))
            mask = _soft_mask(
                resize_to(grey, size, request.resize_mode), request.invert_mask, request.mask_blur
            )
        return EditImages(request.width, request.height, init_rgb, mask)

    def finish(self, image: RenderedImage, edit: EditImages) -> RenderedImage:
        if edit.mask is None:
            return image
        if (image.width, image.height) != (edit.width, edit.height):
            raise ValueError(
                f"The image is {image.width}x{image.height} but its edit inputs are "
                f"{edit.width}x{edit.height}."
            )
        shape = (edit.height, edit.width)
        original = np.frombuffer(edit.init_rgb, np.uint8).reshape(*shape, 3)
        generated = np.frombuffer(image.rgb, np.uint8).reshape(*shape, 3)
        alpha = overlay_alpha(np.frombuffer(edit.mask, np.uint8).reshape(shape))
        return replace(image, rgb=composite(original, generated, alpha).tobytes())

    def _read(self, stored: InputImage, field: str) -> Image.Image:
        path = self._uploads.path_of(stored.upload_id)
        data = _read_bytes(path)
        if data is None:
            raise UploadNotFound(
                f"The {field} upload {stored.upload_id} is no longer stored; "
                "upload the image again and resubmit."
            )
        if hashlib.sha256(data).hexdigest() != stored.sha256:
            raise UploadNotFound(
                f"The {field} upload {stored.upload_id} has changed since the job was "
                "accepted (its sha256 differs); upload the image again and resubmit."
            )
        image = Image.open(io.BytesIO(data))
        image.load()
        return image


def _read_bytes(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except (FileNotFoundError, PermissionError):
        # Deleted between the lookup and the read (on Windows: being deleted).
        return None


def on_white(image: Image.Image) -> Image.Image:
    """RGB, any transparency composited over white."""
    if not _has_alpha(image):
        return image.convert("RGB")
    background = Image.new("RGBA", image.size, _WHITE)
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")


def mask_grey(image: Image.Image) -> Image.Image:
    """The mask as 8-bit grey, 255 = repaint: the alpha channel when some pixel is not
    opaque (opaque repaints), else the luminance."""
    if _has_alpha(image):
        alpha = image.convert("RGBA").getchannel("A")
        if alpha.getextrema() != (255, 255):
            return alpha
    return image.convert("L")


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def resize_to(image: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """``image`` brought to ``size`` by a resize mode (see ``domain.input_image``)."""
    width, height = size
    if image.size == size:
        return image
    if mode == "stretch":
        return image.resize(size, _RESAMPLE)
    if mode == "fill":
        return ImageOps.fit(image, size, _RESAMPLE)
    if mode == "fit":
        return _fit_and_extend(image, width, height)
    raise ValueError(f"Unknown resize mode {mode!r}.")


def _fit_and_extend(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scaled to fit inside, centred as AUTOMATIC1111 places it, and the bands on either
    side filled by stretching the image's edge rows (or columns) outward, as its "resize
    and fill" does: the model then continues the picture rather than a flat colour."""
    scale = min(width / image.width, height / image.height)
    inner_w = min(width, max(1, round(image.width * scale)))
    inner_h = min(height, max(1, round(image.height * scale)))
    inner = np.asarray(image.resize((inner_w, inner_h), _RESAMPLE))
    left, top = width // 2 - inner_w // 2, height // 2 - inner_h // 2
    pad = [(top, height - inner_h - top), (left, width - inner_w - left)]
    if inner.ndim == 3:
        pad.append((0, 0))
    return Image.fromarray(np.pad(inner, pad, mode="edge"), image.mode)


def _soft_mask(mask: Image.Image, invert: bool, blur: int) -> bytes:
    if invert:
        mask = ImageOps.invert(mask)
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return mask.tobytes()


def overlay_alpha(mask: np.ndarray) -> np.ndarray:
    """How much of the generated image shows at each pixel, 0..255: the blurred mask
    doubled, as AUTOMATIC1111's overlay does, so the whole area the mask marks is repainted
    and its blur fades outward into the kept pixels; where the mask is 0 none shows."""
    return np.minimum(mask.astype(np.uint16) * 2, 255).astype(np.uint8)


def composite(original: np.ndarray, generated: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``original * (1 - a) + generated * a`` with ``a = alpha / 255``, in integers rounded
    half up, so alpha 0 gives the original's bytes and 255 the generated ones exactly."""
    weight = alpha.astype(np.uint32)[..., None]
    mixed = original.astype(np.uint32) * (255 - weight) + generated.astype(np.uint32) * weight
    return ((mixed + 127) // 255).astype(np.uint8)
