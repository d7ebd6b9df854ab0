"""An engine's step callbacks mapped onto the ImageBackend port's progress contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from adapters.latent_preview import latents_to_jpeg
from adapters.openvino_engine import LatentSource
from application.ports import CancelCheck, PreviewSource, ProgressCallback


@dataclass
class EngineSteps:
    """Maps an engine's step callbacks onto the port's contract.

    ``on_progress(step, total)`` is called exactly once for each step 1..total, total
    being the steps that really run (``request.denoising_steps``: from an image, the
    ``int(steps * strength)`` the engines keep), whatever the engine counts (PNDM in both
    engines calls back N + 1 times for N steps, from an image too; both engines report
    the reduced count, not the full one), with a preview of the latents when the engine
    passes them. ``should_cancel`` is polled at every engine callback.
    Exceptions from either are kept and re-raised after the engine returns: raising
    inside a genai callback would abort the process.
    """

    total: int
    on_progress: ProgressCallback
    should_cancel: CancelCheck
    reported: int = 0
    cancelled: bool = False
    error: BaseException | None = field(default=None, repr=False)

    def on_step(self, index: int, engine_total: int, latents: LatentSource | None) -> bool:
        try:
            done = min(self.total, (index + 1) * self.total // max(engine_total, 1))
            preview = None if latents is None else partial(latent_preview, latents)
            self._report_up_to(done, preview)
            self.cancelled = self.cancelled or self.should_cancel()
        except BaseException as error:
            self.error = error
            return True
        return self.cancelled

    def finish(self) -> None:
        self._report_up_to(self.total, None)

    def raise_callback_error(self) -> None:
        if self.error is not None:
            raise self.error

    def _report_up_to(self, done: int, preview: PreviewSource | None) -> None:
        while self.reported < done:
            self.reported += 1
            self.on_progress(self.reported, self.total, preview)


def latent_preview(latents: LatentSource) -> bytes:
    """A small JPEG of what the latents will roughly decode to, without the VAE."""
    return latents_to_jpeg(latents())
