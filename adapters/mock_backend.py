"""A deterministic placeholder backend for demos and for tests of the layers above.

The picture depends on prompt and seed (a smooth colour field whose palette
and waves come from both) and carries the word "mock", so nobody mistakes it
for model output. Same request and seed, same bytes.

Edits are visible too: image-to-image blends the input with that field in proportion to
``strength``, and inpainting blends it in only where the mask repaints (the stamp drawn
inside the mask's area, so it shows), leaving every other pixel the input's own.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from domain.errors import GenerationCancelled, Problem
from domain.generation_request import SCHEDULERS, GenerationRequest
from domain.input_image import EditMode


class MockBackend:
    """``step_seconds`` paces the steps, so a demo shows progress a person can watch."""

    provider = "mock"
    device = "mock"
    is_mock = True
    fallback_reason: Problem | None = None
    schedulers = SCHEDULERS
    provenance: Mapping[str, str] = MappingProxyType({"engine": "mock", "scheduler": "none"})
    request_defaults: Mapping[str, int | float] = MappingProxyType({})
    modes: frozenset[EditMode] = frozenset(EditMode)

    def __init__(self, step_seconds: float = 0.0) -> None:
        self._step_seconds = step_seconds

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        total = request.denoising_steps
        pattern = _pattern(request, seed)
        pixels = pattern if edit is None else _blend(_pixels_of(edit, request), pattern, request)
        shown = pixels if edit is None else np.asarray(_masked(Image.fromarray(pixels), edit))
        for step in range(1, total + 1):
            if self._step_seconds:
                time.sleep(self._step_seconds)
            if should_cancel():
                raise GenerationCancelled("Cancelled.")
            on_progress(step, total, partial(_preview, shown, step / total))
        if edit is None:
            image = Image.fromarray(pixels, "RGB")
            _stamp(image, seed, (0, 0, request.width, request.height))
        elif total == 0:
            # No step ran, as an engine given so little strength: the input, untouched.
            image = Image.fromarray(_pixels_of(edit, request), "RGB")
        else:
            image = _stamped_edit(pixels, edit, seed)
        return RenderedImage(request.width, request.height, image.tobytes(), seed)


def _pixels_of(edit: EditImages, request: GenerationRequest) -> np.ndarray:
    if (edit.width, edit.height) != (request.width, request.height):
        raise ValueError(
            f"The edit inputs are {edit.width}x{edit.height} but the request asks for "
            f"{request.width}x{request.height}."
        )
    return np.frombuffer(edit.init_rgb, np.uint8).reshape(edit.height, edit.width, 3)


def _blend(init: np.ndarray, pattern: np.ndarray, request: GenerationRequest) -> np.ndarray:
    weight = np.float32(request.strength)
    mixed: np.ndarray = init.astype(np.float32) * (1 - weight) + pattern.astype(np.float32) * weight
    return (mixed + 0.5).astype(np.uint8)  # rounded half up; never negative


def _stamped_edit(blended: np.ndarray, edit: EditImages, seed: int) -> Image.Image:
    image = Image.fromarray(blended, "RGB")
    box = (0, 0, edit.width, edit.height)
    if edit.mask is not None:
        box = Image.frombytes("L", (edit.width, edit.height), edit.mask).getbbox() or box
    _stamp(image, seed, box)
    return _masked(image, edit)


def _masked(image: Image.Image, edit: EditImages) -> Image.Image:
    """``image`` where the mask repaints, the input elsewhere (blended on grey levels)."""
    if edit.mask is None:
        return image
    mask = Image.frombytes("L", (edit.width, edit.height), edit.mask)
    init = Image.frombytes("RGB", (edit.width, edit.height), edit.init_rgb)
    return Image.composite(image, init, mask)


def _pattern(request: GenerationRequest, seed: int) -> np.ndarray:
    digest = hashlib.sha256(f"{seed}\x00{request.prompt}\x00{request.negative_prompt}".encode())
    rng = np.random.default_rng(int.from_bytes(digest.digest()[:8], "big"))
    ys = np.linspace(0.0, 1.0, request.height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, request.width, dtype=np.float32)[None, :]
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1.0, 6.0), rng.uniform(1.0, 6.0), rng.uniform(0, 2 * np.pi)
        base, spread = rng.uniform(60, 160), rng.uniform(40, 90)
        wave = np.sin(2 * np.pi * (fx * xs + fy * ys) + phase)
        channels.append(base + spread * wave)
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def _preview(pixels: np.ndarray, done: float) -> bytes:
    """The final pattern seen through fading noise, small, as a real preview would be."""
    small = np.asarray(Image.fromarray(pixels, "RGB").reduce(8), dtype=np.float32)
    noise = np.random.default_rng(0).uniform(0, 255, small.shape).astype(np.float32)
    blended = (done * small + (1 - done) * noise).astype(np.uint8)
    image = Image.fromarray(blended, "RGB")
    image = image.resize((image.width * 4, image.height * 4), Image.Resampling.BILINEAR)
    if max(image.size) > 256:
        image.thumbnail((256, 256))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _stamp(image: Image.Image, seed: int, box: tuple[int, int, int, int]) -> None:
    """The word "mock" centred in ``box`` (left, top, right, bottom), the seed at its foot."""
    box_left, box_top, box_right, box_bottom = box
    box_w, box_h = box_right - box_left, box_bottom - box_top
    draw = ImageDraw.Draw(image)
    size = max(10, min(box_w, box_h) // 8)
    font = ImageFont.load_default(size=size)
    label = "mock"
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    x = box_left + (box_w - (right - left)) // 2
    y = box_top + (box_h - (bottom - top)) // 2 - top
    draw.text(
        (x, y),
        label,
        font=font,
        fill=(255, 255, 255),
        stroke_width=max(1, size // 12),
        stroke_fill=(0, 0, 0),
    )
    small = ImageFont.load_default(size=max(8, size // 3))
    draw.text(
        (box_left + 4, box_bottom - size // 3 - 6),
        f"seed {seed}",
        font=small,
        fill=(255, 255, 255),
    )
