"""CLIP's image preprocessing (transformers' ``CLIPImageProcessor``), in numpy and Pillow.

The safety checker's IR takes the pixels ``CLIPImageProcessor`` would make from the
repository's ``feature_extractor/preprocessor_config.json``. This module replays its
Pillow/numpy path (``CLIPImageProcessorPil`` and ``image_transforms``) step for step, so the
serving process needs neither transformers nor torch: resize with the shortest edge matched
(the long edge truncated, as ``int(size * long / short)``), Pillow's resampling; a centre
crop with floor offsets (zero padding when the image is smaller); rescale in float64, then
float32; normalise in float32. A setting it does not implement is refused, never ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from application.ports import RenderedImage

# CLIPImageProcessor's class defaults: what a key missing from the config means.
_DEFAULTS: dict[str, Any] = {
    "do_convert_rgb": True,
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "resample": 3,  # PIL bicubic
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}
# Keys that describe the file rather than the processing.
_DESCRIPTIVE = {"image_processor_type", "feature_extractor_type", "processor_class"}
# Keys transformers accepts that change nothing while they are off.
_OFF_ONLY = {"do_pad", "use_square_size", "pad_size"}
_PIL_FILTERS = {0, 1, 2, 3, 4, 5}  # nearest, lanczos, bilinear, bicubic, box, hamming


class UnsupportedPreprocessing(ValueError):
    """The preprocessor config asks for something this module does not do."""


@dataclass(frozen=True)
class ClipImageProcessing:
    """The steps of one preprocessor config; ``pixels`` applies them."""

    shortest_edge: int | None
    """Resize so that the short side is this long; None with ``resize_to`` or no resize."""
    resize_to: tuple[int, int] | None
    """Resize to this (height, width) regardless of aspect."""
    resample: int
    crop: tuple[int, int] | None
    """Centre crop to this (height, width)."""
    rescale_factor: float | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None

    @classmethod
    def from_file(cls, path: Path) -> ClipImageProcessing:
        """Raises ``OSError``, ``ValueError`` (bad JSON) or ``UnsupportedPreprocessing``."""
        config = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise UnsupportedPreprocessing(f"{path.name} is not a JSON object")
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClipImageProcessing:
        unknown = set(config) - set(_DEFAULTS) - _DESCRIPTIVE - _OFF_ONLY
        if unknown:
            raise UnsupportedPreprocessing(f"unsupported settings: {', '.join(sorted(unknown))}")
        switched_on = [key for key in _OFF_ONLY if config.get(key)]
        if switched_on:
            raise UnsupportedPreprocessing(f"unsupported settings: {', '.join(switched_on)}")
        values = {**_DEFAULTS, **config}  # do_convert_rgb: our images are RGB either way
        shortest_edge, resize_to = _resize_rule(values) if values["do_resize"] else (None, None)
        resample = values["resample"]
        if not isinstance(resample, int) or resample not in _PIL_FILTERS:
            raise UnsupportedPreprocessing(f"unknown resample filter {resample!r}")
        crop = _height_width(values["crop_size"], "crop_size") if values["do_center_crop"] else None
        if crop is None and resize_to is None:
            raise UnsupportedPreprocessing(
                "the output size is not fixed (no crop, no fixed resize)"
            )
        rescale = float(values["rescale_factor"]) if values["do_rescale"] else None
        mean = std = None
        if values["do_normalize"]:
            mean = _per_channel(values["image_mean"], "image_mean")
            std = _per_channel(values["image_std"], "image_std")
        return cls(shortest_edge, resize_to, resample, crop, rescale, mean, std)

    def pixels(self, images: Sequence[RenderedImage]) -> NDArray[np.float32]:
        """``images`` as the model input: float32 [N, 3, height, width]."""
        return np.stack([self._one(image) for image in images]).astype(np.float32, copy=False)

    def _one(self, image: RenderedImage) -> NDArray[Any]:
        array: NDArray[Any] = np.frombuffer(image.rgb, dtype=np.uint8).reshape(
            image.height, image.width, 3
        )
        size = self._resized_size(image.height, image.width)
        if size is not None:
            height, width = size
            resized = Image.fromarray(array).resize(
                (width, height), resample=Image.Resampling(self.resample)
            )
            array = np.asarray(resized)
        chw = np.transpose(array, (2, 0, 1))
        if self.crop is not None:
            chw = _center_crop(chw, self.crop)
        if self.rescale_factor is not None:
            chw = (chw.astype(np.float64) * self.rescale_factor).astype(np.float32)
        if self.mean is not None and self.std is not None:
            if not np.issubdtype(chw.dtype, np.floating):
                chw = chw.astype(np.float32)
            mean = np.array(self.mean, dtype=chw.dtype)
            std = np.array(self.std, dtype=chw.dtype)
            chw = ((chw.T - mean) / std).T
        return chw

    def _resized_size(self, height: int, width: int) -> tuple[int, int] | None:
        if self.resize_to is not None:
            return self.resize_to
        if self.shortest_edge is None:
            return None
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.shortest_edge, int(self.shortest_edge * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)


def _resize_rule(values: Mapping[str, Any]) -> tuple[int | None, tuple[int, int] | None]:
    size = values["size"]
    if isinstance(size, int) and not isinstance(size, bool):
        return size, None  # CLIP reads a bare number as the shortest edge
    if isinstance(size, Mapping) and set(size) == {"shortest_edge"}:
        return _positive(size["shortest_edge"], "size.shortest_edge"), None
    return None, _height_width(size, "size")


def _height_width(value: Any, what: str) -> tuple[int, int]:
    """transformers' reading of a crop or resize size: a number is a square."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _positive(value, what), _positive(value, what)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _positive(value[0], what), _positive(value[1], what)
    if isinstance(value, Mapping) and set(value) == {"height", "width"}:
        return _positive(value["height"], what), _positive(value["width"], what)
    raise UnsupportedPreprocessing(f"unsupported {what}: {value!r}")


def _positive(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise UnsupportedPreprocessing(f"{what} must be a positive whole number, not {value!r}")


def _per_channel(value: Any, what: str) -> tuple[float, ...]:
    values = value if isinstance(value, (list, tuple)) else [value] * 3
    if len(values) != 3 or not all(isinstance(v, (int, float)) for v in values):
        raise UnsupportedPreprocessing(f"{what} must be one number or three, not {value!r}")
    return tuple(float(v) for v in values)


def _center_crop(image: NDArray[Any], size: tuple[int, int]) -> NDArray[Any]:
    """``image_transforms.center_crop`` on a [C, H, W] array, zero padding included."""
    crop_height, crop_width = size
    height, width = image.shape[-2:]
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    bottom, right = top + crop_height, left + crop_width
    if top >= 0 and bottom <= height and left >= 0 and right <= width:
        return image[..., top:bottom, left:right]
    new_height, new_width = max(crop_height, height), max(crop_width, width)
    padded = np.zeros_like(image, shape=(*image.shape[:-2], new_height, new_width))
    top_pad = math.ceil((new_height - height) / 2)
    left_pad = math.ceil((new_width - width) / 2)
    padded[..., top_pad : top_pad + height, left_pad : left_pad + width] = image
    top, bottom, left, right = top + top_pad, bottom + top_pad, left + left_pad, right + left_pad
    return padded[..., max(0, top) : min(new_height, bottom), max(0, left) : min(new_width, right)]
