"""What the OpenVINO backend asks of an engine (openvino-genai or optimum-intel).

The backend owns what the engines share (devices, fallback, progress); each engine
module implements this protocol for its library. Rules both engines follow live here
too, so that they are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from domain.errors import DomainError, Remedy
from domain.generation_request import GenerationRequest

LatentSource = Callable[[], npt.NDArray[np.float32]]
"""The current latents, ``(1, 4, h/8, w/8)``; valid only during the step callback."""

StepCallback = Callable[[int, int, "LatentSource | None"], bool]
"""``(index from 0, the engine's own step count, latents) -> True to stop``; never raises."""

LCM_PIPELINES = ("LatentConsistencyModelPipeline", "OVLatentConsistencyModelPipeline")
"""model_index.json classes of few-step (LCM) pipelines, as diffusers and optimum export them."""


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

    @property
    def takes_negative_prompt(self) -> bool:
        """False for pipelines that never run classifier-free guidance (LCM)."""

    def run(
        self, request: GenerationRequest, seed: int, on_step: StepCallback
    ) -> npt.NDArray[np.uint8] | None:
        """An ``(height, width, 3)`` uint8 image, or None when ``on_step`` asked to stop."""

    def last_timings_ms(self) -> Mapping[str, float]:
        """The last run's stage times (see RenderedImage.timings_ms)."""


EngineLoader = Callable[[Path, str, Path], Engine]
"""``(model_dir, device, cache_dir) -> Engine``; raises RuntimeError when the device fails."""


def pipeline_takes_negative_prompt(pipeline: str | None) -> bool:
    """Whether a pipeline (model_index.json's class) has classifier-free guidance at all."""
    return pipeline not in LCM_PIPELINES


def guided(guidance_scale: float, takes_negative_prompt: bool) -> bool:
    """Whether a run uses classifier-free guidance, which doubles the UNet's batch."""
    return takes_negative_prompt and guidance_scale > 1


def negative_prompt_argument(request: GenerationRequest, engine: Engine) -> dict[str, str]:
    """``negative_prompt=...`` for the engine's call, or nothing.

    Without classifier-free guidance (guidance <= 1, or an LCM pipeline) a negative prompt
    has no effect; genai rejects one outright and diffusers' LCM pipeline has no such
    argument, so it is dropped rather than passed.
    """
    if request.negative_prompt and guided(request.guidance_scale, engine.takes_negative_prompt):
        return {"negative_prompt": request.negative_prompt}
    return {}


class LoadFailure(str, Enum):
    """Why the backend could not be loaded, for code and tests that branch on it."""

    OPTIMUM_NOT_INSTALLED = "optimum_not_installed"
    OPTIMUM_BROKEN = "optimum_broken"
    MODEL_INCOMPLETE = "model_incomplete"
    CACHE_IN_MODEL_FOLDER = "cache_in_model_folder"


class BackendLoadError(DomainError):
    """The backend cannot be loaded: ``kind`` says why, ``path`` which folder is involved."""

    def __init__(
        self,
        kind: LoadFailure,
        message: str,
        remedies: Iterable[Remedy] = (),
        path: Path | None = None,
    ) -> None:
        super().__init__(message, remedies)
        self.kind = kind
        self.path = path
