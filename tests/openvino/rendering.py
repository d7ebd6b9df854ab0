"""Calling a backend the way the service does, recording what it reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from adapters.openvino_loading import optimum_installed
from application.ports import (
    EditImages,
    ImageBackend,
    PreviewSource,
    ProgressCallback,
    RenderedImage,
)
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode, InputImage


@dataclass
class Recorder:
    """on_progress and should_cancel for one generation; cancels once ``cancel_at`` is reached."""

    cancel_at: int | None = None
    progress: list[tuple[int, int]] = field(default_factory=list)
    progress_after_cancel: int = 0
    cancel_polls: int = 0
    cancelled: bool = False
    previews: list[PreviewSource | None] = field(default_factory=list)

    def on_progress(self, step: int, total: int, preview: PreviewSource | None = None) -> None:
        self.previews.append(preview)
        if self.cancelled:
            self.progress_after_cancel += 1
        self.progress.append((step, total))
        if self.cancel_at is not None and step >= self.cancel_at:
            self.cancelled = True

    def should_cancel(self) -> bool:
        self.cancel_polls += 1
        return self.cancelled


def skip_unless_installed(engine: str) -> None:
    """The default install has no optimum engine; its half of the suite is skipped there."""
    if engine == "optimum" and not optimum_installed():
        pytest.skip('the optimum engine is not installed: pip install -e ".[optimum]"')


def request(**fields: Any) -> GenerationRequest:
    values: dict[str, Any] = {
        "prompt": "a cat and the sea",
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        **fields,
    }
    return GenerationRequest(**values)


def render(
    backend: ImageBackend,
    seed: int = 7,
    recorder: Recorder | None = None,
    on_progress: ProgressCallback | None = None,
    edit: EditImages | None = None,
    **fields: Any,
) -> RenderedImage:
    recorder = recorder or Recorder()
    return backend.generate(
        request(**fields), seed, on_progress or recorder.on_progress, recorder.should_cancel, edit
    )


def input_rgb(width: int = 64, height: int = 64) -> bytes:
    """Gradients and a bright square: something for the VAE to encode."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 0 * x], -1)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = 255
    return rgb.astype(np.uint8).tobytes()


def centre_mask(width: int = 64, height: int = 64) -> bytes:
    """255 (repaint) over the middle half of each side, 0 (keep) outside."""
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : height - height // 4, width // 4 : width - width // 4] = 255
    return mask.tobytes()


def edit_fields(
    mode: str, width: int = 64, height: int = 64, strength: float = 0.75
) -> tuple[dict[str, Any], EditImages | None]:
    """``(request fields, edit)`` for a run in ``mode`` (an EditMode value) at that size."""
    fields: dict[str, Any] = {"width": width, "height": height}
    if mode == EditMode.TEXT_TO_IMAGE.value:
        return fields, None
    rgb = input_rgb(width, height)
    fields |= {"init_image": _stored("init", rgb, width, height), "strength": strength}
    if mode == EditMode.IMAGE_TO_IMAGE.value:
        return fields, EditImages(width, height, rgb)
    mask = centre_mask(width, height)
    fields["mask_image"] = _stored("mask", mask, width, height)
    return fields, EditImages(width, height, rgb, mask)


def _stored(upload_id: str, data: bytes, width: int, height: int) -> InputImage:
    return InputImage(upload_id, hashlib.sha256(data).hexdigest(), width, height)
