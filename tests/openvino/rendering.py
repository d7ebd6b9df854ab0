"""Calling a backend the way the service does, recording what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.openvino_loading import optimum_installed
from application.ports import ImageBackend, PreviewSource, ProgressCallback, RenderedImage
from domain.generation_request import GenerationRequest


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
    **fields: Any,
) -> RenderedImage:
    recorder = recorder or Recorder()
    return backend.generate(
        request(**fields), seed, on_progress or recorder.on_progress, recorder.should_cancel
    )
