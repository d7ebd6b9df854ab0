"""What the OpenVINO backend asks of an engine (openvino-genai or optimum-intel).

The backend owns what the engines share (devices, fallback, progress); each engine
module implements this protocol for its library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from domain.errors import DomainError
from domain.generation_request import GenerationRequest

LatentSource = Callable[[], npt.NDArray[np.float32]]
"""The current latents, ``(1, 4, h/8, w/8)``; valid only during the step callback."""

StepCallback = Callable[[int, int, "LatentSource | None"], bool]
"""``(index from 0, the engine's own step count, latents) -> True to stop``; never raises."""


class Engine(Protocol):
    """One loaded pipeline on one device."""

    @property
    def name(self) -> str:
        """``"genai"`` or ``"optimum"``."""

    @property
    def schedulers(self) -> tuple[str, ...]:
        """The request scheduler names this engine maps onto its own."""

    @property
    def device(self) -> str: ...

    @property
    def provenance(self) -> Mapping[str, str]:
        """Engine, versions, pipeline and default scheduler."""

    def run(
        self, request: GenerationRequest, seed: int, on_step: StepCallback
    ) -> npt.NDArray[np.uint8] | None:
        """An ``(height, width, 3)`` uint8 image, or None when ``on_step`` asked to stop."""

    def last_timings_ms(self) -> Mapping[str, float]:
        """The last run's stage times (see RenderedImage.timings_ms)."""


EngineLoader = Callable[[Path, str, Path], Engine]
"""``(model_dir, device, cache_dir) -> Engine``; raises RuntimeError when the device fails."""


class BackendLoadError(DomainError):
    """The backend cannot be loaded; the message says what to do (shown in /health)."""
