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

from application.ports import EditImages
from domain.errors import DomainError, Remedy
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

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

    @property
    def modes(self) -> frozenset[EditMode]:
        """What the loaded model can do: the edits need its VAE encoder."""

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
        edit: EditImages | None = None,
    ) -> npt.NDArray[np.uint8] | None:
        """An ``(height, width, 3)`` uint8 image, or None when ``on_step`` asked to stop.

        The mode follows ``request.mode``: ``edit`` carries the input image (and, for
        inpainting, the mask) at the request's size, and is None from text. The engine
        runs ``request.denoising_steps`` UNet denoising steps (at least 1; see
        ``step_arguments``), PNDM one evaluation more, and does not paste the original
        back (EditPixels does).
        """

    def last_timings_ms(self) -> Mapping[str, float]:
        """The last run's stage times (see RenderedImage.timings_ms)."""


EngineLoader = Callable[[Path, str, Path], Engine]
"""``(model_dir, device, cache_dir) -> Engine``; raises RuntimeError when the device fails."""


def pipeline_takes_negative_prompt(pipeline: str | None) -> bool:
    """Whether a pipeline (model_index.json's class) has classifier-free guidance at all."""
    return pipeline not in LCM_PIPELINES


def served_modes(has_vae_encoder: bool) -> frozenset[EditMode]:
    """Every mode, or text-to-image alone: the edits encode their input with the VAE."""
    return frozenset(EditMode) if has_vae_encoder else frozenset({EditMode.TEXT_TO_IMAGE})


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


def step_arguments(request: GenerationRequest, lcm_schedule: bool) -> dict[str, int | float]:
    """``num_inference_steps`` (and from an image ``strength``) for an engine's call, such
    that exactly ``request.denoising_steps`` UNet denoising steps run.

    Most schedules are set for all ``num_inference_steps`` and the pipeline then skips the
    first ``steps - int(steps * strength)`` (diffusers' ``get_timesteps``, genai alike):
    those take the request's steps and ``engine_strength``. An LCM schedule given a
    strength instead runs every one of ``num_inference_steps`` over a schedule shortened
    to the strength (openvino-genai's LCM scheduler in every pipeline; diffusers' LCM
    image-to-image pipeline): those take ``denoising_steps`` and the strength as given,
    so that they start from the same noise level. ``lcm_schedule`` says which the
    engine's pipeline does.
    """
    if request.mode is EditMode.TEXT_TO_IMAGE:
        return {"num_inference_steps": request.num_inference_steps}
    if lcm_schedule:
        return {"num_inference_steps": request.denoising_steps, "strength": request.strength}
    return {
        "num_inference_steps": request.num_inference_steps,
        "strength": engine_strength(request),
    }


def engine_strength(request: GenerationRequest) -> float:
    """The strength to hand an engine so it denoises exactly ``request.denoising_steps``.

    Both libraries skip ``steps - int(steps * strength)`` steps, genai in float32, where
    e.g. ``10 * 0.7f`` is 6.99...; the midpoint of the step count's interval survives
    either rounding. Exactly 1.0 stays 1.0: diffusers' inpainting starts from pure noise
    only then.
    """
    steps = request.num_inference_steps
    return min(1.0, (request.denoising_steps + 0.5) / steps)


def edit_arrays(
    request: GenerationRequest, edit: EditImages | None
) -> tuple[npt.NDArray[np.uint8] | None, npt.NDArray[np.uint8] | None]:
    """``(init (h, w, 3), mask (h, w) or None)`` for the request's mode, checked.

    Raises ValueError when the edit does not fit the request: the application never
    sends one that does not, so this is a bug to surface, not a user's error.
    """
    mode = request.mode
    if mode is EditMode.TEXT_TO_IMAGE:
        if edit is not None:
            raise ValueError("A text-to-image request was given an input image.")
        return None, None
    if request.denoising_steps < 1:
        raise ValueError(
            f"strength {request.strength} leaves no step of {request.num_inference_steps} "
            "to run: the application returns the input itself, the engine is never asked."
        )
    if edit is None:
        raise ValueError(f"A {mode.value} request needs its input image (edit=).")
    if (edit.width, edit.height) != (request.width, request.height):
        raise ValueError(
            f"The input image is {edit.width}x{edit.height}, the request "
            f"{request.width}x{request.height}: it must come resized."
        )
    init = np.frombuffer(edit.init_rgb, np.uint8).reshape(edit.height, edit.width, 3)
    if mode is EditMode.IMAGE_TO_IMAGE:
        return init, None
    if edit.mask is None:
        raise ValueError("An inpainting request needs its mask (edit.mask).")
    return init, np.frombuffer(edit.mask, np.uint8).reshape(edit.height, edit.width)


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
