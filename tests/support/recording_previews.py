"""The mock backend, recording the raw previews it hands over, so that a test can tell what
the service showed from what the engine made; it can wait before its first step and after
a given step, so that a test listens (or looks at `/progress`) while nothing moves."""

from __future__ import annotations

import threading

from adapters.mock_backend import MockBackend
from application.ports import CancelCheck, EditImages, PreviewSource, ProgressCallback
from application.ports import RenderedImage as Rendered
from domain.generation_request import GenerationRequest

HOLD_SECONDS = 30.0
"""How long a held step waits for the test at most: a test that forgets fails, not hangs."""


class PreviewRecordingBackend(MockBackend):
    def __init__(
        self, start: threading.Event | None = None, pause_after_step: int | None = None
    ) -> None:
        """``start``: no step runs before it is set. ``pause_after_step``: that step's
        progress (and preview) is reported, then the job waits until ``resume`` is set."""
        super().__init__()
        self.start = start
        self.pause_after_step = pause_after_step
        self.resume = threading.Event()
        self.paused = threading.Event()
        self.raw_previews: list[tuple[int, bytes]] = []
        """(step within its image, the JPEG the engine made), in order."""
        self.rendered: list[Rendered] = []

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> Rendered:
        if self.start is not None:
            assert self.start.wait(HOLD_SECONDS), "the test never let the job start"

        def recorded(step: int, total: int, preview: PreviewSource | None = None) -> None:
            shown: PreviewSource | None = None
            if preview is not None:
                raw = preview()
                self.raw_previews.append((step, raw))
                shown = lambda: raw  # noqa: E731  (the very bytes recorded)
            on_progress(step, total, shown)
            if step == self.pause_after_step:
                self.paused.set()
                assert self.resume.wait(HOLD_SECONDS), "the test never let the job go on"

        image = super().generate(request, seed, recorded, should_cancel, edit)
        self.rendered.append(image)
        return image
