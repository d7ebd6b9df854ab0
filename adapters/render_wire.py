"""What travels through the cluster's queue for one image: JSON-safe dicts both ways.

A render names everything a worker needs (the validated request, the image's seed, and
for an edit its input pixels already at the output size), so a worker never reads the
API node's disk. Pixels travel zlib-compressed and base64-encoded: lossless, so a remote
image is the same bytes as a local one, and cheap next to a UNet step.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import fields
from typing import Any

from application.ports import EditImages, RenderedImage
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage

WIRE_VERSION = 1


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 1)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text, validate=True))


def encode_render(request: GenerationRequest, seed: int, edit: EditImages | None) -> dict[str, Any]:
    return {
        "wire": WIRE_VERSION,
        "request": request.to_dict(),
        "seed": seed,
        "edit": None
        if edit is None
        else {
            "width": edit.width,
            "height": edit.height,
            "init_rgb": _pack(edit.init_rgb),
            "mask": None if edit.mask is None else _pack(edit.mask),
        },
    }


def decode_render(data: dict[str, Any]) -> tuple[GenerationRequest, int, EditImages | None]:
    """Raises ValueError for a render of another wire version (a worker of another release)."""
    if data.get("wire") != WIRE_VERSION:
        raise ValueError(f"render of wire version {data.get('wire')!r}, not {WIRE_VERSION}")
    values = dict(data["request"])
    for name in ("init_image", "mask_image"):
        if values.get(name) is not None:
            values[name] = InputImage.from_mapping(values[name])
    known = {field.name for field in fields(GenerationRequest)}
    request = GenerationRequest(**{k: v for k, v in values.items() if k in known})
    edit_data = data.get("edit")
    edit = None
    if edit_data is not None:
        mask = edit_data.get("mask")
        edit = EditImages(
            width=int(edit_data["width"]),
            height=int(edit_data["height"]),
            init_rgb=_unpack(edit_data["init_rgb"]),
            mask=None if mask is None else _unpack(mask),
        )
    return request, int(data["seed"]), edit


def encode_image(image: RenderedImage) -> dict[str, Any]:
    return {
        "width": image.width,
        "height": image.height,
        "rgb": _pack(image.rgb),
        "seed": image.seed,
        "timings_ms": dict(image.timings_ms),
    }


def decode_image(data: dict[str, Any]) -> RenderedImage:
    width, height = int(data["width"]), int(data["height"])
    rgb = _unpack(data["rgb"])
    if len(rgb) != width * height * 3:
        raise ValueError(f"{len(rgb)} bytes of pixels for a {width}x{height} image")
    timings = {str(k): float(v) for k, v in dict(data.get("timings_ms") or {}).items()}
    return RenderedImage(width, height, rgb, int(data["seed"]), timings)
